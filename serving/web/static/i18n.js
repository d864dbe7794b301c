// @ts-check
// Both languages of the page. Chinese is the default; the choice is kept in localStorage
// ("capacity.lang") and mirrored in <html lang>. Values are strings with {placeholders}
// or functions of the parameters (for plurals).

const STORAGE_KEY = 'capacity.lang';

/**
 * @typedef {'zh' | 'en'} Lang
 * @typedef {Record<string, any>} Params
 * @typedef {string | ((params: Params) => string)} Message
 */

/** @type {Record<Lang, Record<string, Message>>} */
export const DICT = {
  zh: {
    app_title: '报装容量推荐',
    app_subtitle: '根据行业、面积和设备清单，推荐标准变压器容量并解释依据',
    doc_title: '报装容量推荐',
    skip_to_main: '跳到主要内容',
    mode_label: '使用方式',
    mode_customer: '客户申请',
    mode_planner: '规划审核',
    form_title: '用电申请',
    form_intro: '带 * 的为必填项。请至少填写设备清单或建筑面积；在任一输入框按 Enter 键即可提交。',
    examples_label: '载入示例：',
    example_machinery_workshop: '机械加工车间',
    example_office_building: '办公楼',
    example_area_only_retail: '商场（仅面积）',
    section_general: '基本信息',
    label_industry: '行业',
    ph_industry: '输入中文或英文名称搜索',
    hint_industry_pick: '请从下拉列表中选择一个行业',
    hint_industry_count: '共 {n} 个行业，可输入关键字筛选',
    label_climate: '气候区',
    climate_unknown: '不清楚',
    label_area: '建筑面积',
    label_employees: '员工人数',
    label_shifts: '班制',
    unit_shifts: '(每天 1–3 班)',
    label_proposed: '申报容量',
    section_planner: '规划审核',
    ph_proposed: '如 630',
    ph_area: '如 4200',
    ph_employees: '如 85',
    ph_shifts: '1、2 或 3',
    hint_proposed: '规划人员拟批准或客户申报的容量，可输入非标准值',
    section_equipment: '设备清单',
    equipment_help: '每行是同型号的若干台设备。可以直接输入设备名称（如“数控车床 CK6140”），系统会自动识别类别；也可以手动选择类别。备用设备和消防泵不计入计算负荷。',
    equipment_empty: '还没有设备。可添加一行、按类别添加、粘贴表格或上传 CSV。',
    col_name: '设备名称',
    col_category: '类别',
    col_kw: '单台功率 (kW)',
    col_qty: '台数',
    col_standby: '备用',
    ph_eq_name: '如：螺杆空压机 37kW',
    ph_kw: '7.5',
    cat_auto: '自动（按名称识别）',
    btn_add_row: '＋ 添加一行（填写名称）',
    label_add_category: '按类别添加',
    btn_add: '添加',
    btn_clear: '清空清单',
    btn_remove: '删除',
    remove_row_n: '删除第 {n} 行',
    row_n: '第 {n} 行',
    rows_count: '{n} 行',
    row_removed: '已删除第 {n} 行。',
    rows_cleared: '设备清单已清空。',
    paste_summary: '从电子表格粘贴',
    paste_help: '在 Excel/WPS 中选中若干行复制后粘贴到这里（也可以直接粘贴到“设备名称”框）。列顺序：名称或类别、单台功率 kW、台数、是否备用（是/否）。标题行会被自动跳过。',
    label_paste: '粘贴区域',
    btn_paste_add: '添加这些行',
    label_csv: '上传设备清单 CSV',
    btn_choose_csv: '选择 CSV 文件…',
    no_file: '未选择文件',
    csv_help: '格式同数据约定的 equipment.csv：category,rated_kw,quantity,standby,name（customer_id 列可有可无）。支持 UTF-8 和 GBK 编码。',
    btn_recommend: '计算推荐容量',
    btn_check: '审核申报容量',
    btn_working: '正在计算…',
    btn_reset: '清空表单',
    btn_retry: '重试',
    footer_note: '结果为辅助参考，最终容量以供电方案答复为准。',
    footer_api: 'API 文档',
    confirm_reset: '清空整个表单（包括设备清单）？',
    confirm_clear: '删除设备清单中的所有行？',

    match_pending: '正在识别类别…',
    match_error: '暂时无法识别类别，提交时由服务器识别。',
    match_too_long: '名称最多 200 个字。',
    match_auto: '将自动识别为',
    match_kw_hint: '（名称含 {kw} kW）',
    match_low: '可能是「{name}」，但置信度只有 {conf}，此行不会计入。请选择类别或采用建议。',
    match_none: '无法从名称识别类别，此行不会计入。请选择类别。',
    match_overridden: '名称识别结果为「{name}」（{conf}），已按所选类别计算。',
    match_agrees: '与名称识别结果一致（{conf}）',
    confidence: '置信度',
    btn_accept: '采用',
    btn_accept_aria: '第 {n} 行采用类别 {name}',

    source_csv: 'CSV 文件',
    source_paste: '粘贴内容',
    import_added: '已从{source}添加 {n} 行。',
    import_nothing: '{source}中没有可添加的设备行。',
    import_empty: '内容为空。',
    import_no_header: '缺少标题行：需要 rated_kw 列，以及 category 或 name 列。',
    import_skipped_blank: '跳过 {n} 个空行。',
    import_unknown_category: '{n} 行的类别代码无法识别，已作为名称处理。',
    import_bad_standby: '{n} 行的“备用”值无法识别，按“否”处理。',
    import_header_skipped: '第一行看起来是标题，已跳过。',
    import_many_customers: '文件包含 {n} 个客户，只载入了第一个客户（{id}）的设备。',
    import_truncated: '超过 {max} 行的上限，{n} 行未载入。',
    import_encoding: '（{file}，编码 {enc}）',
    import_failed: '无法读取文件：{detail}',
    import_paste_empty: '请先把表格内容粘贴到粘贴区域。',

    errors_title: (p) => `请修改以下 ${p.n} 处后再提交：`,
    errors_title_server: (p) => `服务器未接受此申请（${p.n} 处问题）：`,
    err_industry_required: '请选择行业。',
    err_industry_unknown: '找不到行业“{text}”，请从列表中选择。',
    err_number: '请输入数字。',
    err_integer: '请输入整数。',
    err_positive: '必须大于 0。',
    err_min: '不能小于 {min}。',
    err_max: '不能大于 {max}。',
    err_shifts: '班制应为 1、2 或 3。',
    err_row_name: '请填写设备名称或选择类别。',
    err_kw_required: '请填写单台额定功率（kW）。',
    err_kw_positive: '额定功率必须大于 0 kW。',
    err_qty_integer: '台数应为整数。',
    err_qty_min: '台数至少为 1。',
    err_too_many_rows: '设备清单最多 {max} 行。',
    err_need_equipment_or_area: '请至少填写一行设备，或填写建筑面积。',
    err_need_equipment_or_area_short: '没有设备清单时，请填写建筑面积。',
    err_proposed_required: '请填写申报容量（kVA）。',
    err_network: '无法连接推荐服务。{detail}',
    err_http: '服务器返回错误（HTTP {status}）。',
    err_not_ready: '推荐服务尚未就绪（模型未加载），请稍后再试或联系管理员。',
    err_catalog: '无法载入行业和设备类别目录（{detail}）。',
    expected: '要求',
    colon: '：',
    row_suffix: '（第 {n} 行）',

    status_fix: (p) => `有 ${p.n} 处输入需要修改。`,
    status_working: '正在计算…',
    status_done: '计算完成：建议报装容量 {kva}。',
    status_check_done: '审核完成：申报 {kva}，{verdict}；建议 {rec}。',
    status_server_errors: (p) => `服务器发现 ${p.n} 处问题，请修改。`,
    status_example_loaded: '已载入示例“{name}”。',

    results_title: '推荐结果',
    results_title_check: '审核结果',
    btn_print: '打印 / 存为 PDF',
    btn_edit: '修改申请',
    stale_note: '表单已修改，下面的结果基于修改前的数据。请重新计算。',
    print_meta: '生成时间：{time} · 推荐编号：{id}',
    recommended_capacity: '建议报装容量',
    source_model: '模型推荐',
    source_fallback: '兜底估算',
    source_fallback_reason: '兜底估算：{reason}',
    fallback_area_only: '仅按面积',
    fallback_no_equipment_no_area: '仅按行业',
    fallback_unknown_industry: '行业无历史数据',
    manual_review: '需人工复核',
    manual_review_generic: '此结果需要人工复核。',
    supply_voltage: '供电电压',
    voltage_220V: '220 V（单相）',
    voltage_0_4kV: '0.4 kV（低压）',
    voltage_10kV: '10 kV（高压）',
    voltage_35kV_: '35 kV 及以上',
    two_part_tariff: '两部制电价',
    yes_tariff: '适用（≥ 315 kVA）',
    no_tariff: '不适用（< 315 kVA）',
    monthly_charge: '基本电费（容量电费）',
    monthly_charge_value: '{yuan}/月（{price} 元/kVA·月）',
    monthly_charge_none: '无（单一制电价）',
    p_appropriate_label: '容量合适的概率',
    expected_load_rate: '预计负载率',
    predicted_peak: '预测最大负荷',
    interval80: '80% 区间',
    interval90: '90% 区间',
    outcome_appropriate: '合适',
    outcome_undersized: '偏小',
    outcome_oversized: '偏大',
    recommended_short: '推荐',
    proposed_short: '申报',
    warnings_title: '请注意',
    tiers_title: '相邻标准容量的结果概率',
    tiers_help: '每根柱子是一种标准容量：绿色部分越高，容量越合适；黑框为推荐容量。',
    show_table: '显示数据表',
    col_capacity: '容量',
    drivers_title: '影响预测负荷的因素',
    drivers_help: '各因素对预测最大负荷的贡献（kW），合计为 {peak}。正值增加负荷，负值降低负荷。',
    drivers_positive: '增加负荷',
    drivers_negative: '降低负荷',
    drivers_other: '其他 {n} 项',
    drivers_base: '基准值',
    drivers_none: '没有可显示的因素。',
    driver_detail: '需要系数法 {eng}，模型修正 {corr}',
    peers_title: '与同类客户对比',
    peers_group: '对比组：{industry} · 规模 {band} ·',
    peers_group_industry: '对比组：{industry}（同规模客户不足，按全行业）·',
    peers_n: '{n} 户',
    peers_few: '同类客户较少，对比仅供参考。',
    peers_none: '没有可对比的同类历史客户。',
    peers_no_metric: '缺少装机容量和建筑面积，无法与同类客户对比。',
    peers_this: '本申请',
    peers_metric_kw: '最大负荷 / 装机容量',
    peers_metric_m2: '单位面积最大负荷',
    peers_sentence: '本申请为 {value}，{pct}；同类客户中位数 {p50}。',
    percentile: '位于第 {p} 百分位',
    scale_unknown: '未知',
    summary_title: '申请摘要',
    equipment_lines: '设备清单',
    installed_kw: '装机容量（不含备用）',
    standby_kw: '备用设备容量',
    basis: '估算依据',
    basis_equipment: '设备清单',
    basis_area: '建筑面积',
    basis_industry: '行业典型值',
    sheet_title: '需要系数法计算书（对照）',
    sheet_help: '传统设计方法：Pjs = Kx·Pe，Qjs = Pjs·tanφ；P30 = K∑p·ΣPjs，Q30 = K∑q·ΣQjs；无功补偿至 cos φ 0.9 后按负载率 ≤ 85% 选择变压器。',
    sheet_help_area: '没有可识别的设备清单：按单位面积负荷密度法估算。',
    sheet_caption: '各类设备的计算负荷',
    sheet_totals_caption: '汇总与变压器选择',
    sheet_col_category: '设备类别',
    sheet_total: '合计',
    sheet_cos_natural: '自然功率因数 cos φ',
    sheet_qc: '无功补偿 Qc',
    sheet_q30_comp: '补偿后 Q30',
    sheet_s30_comp: '补偿后 S30',
    sheet_i30_comp: '补偿后 I30',
    sheet_transformer: '变压器选择',
    sheet_excluded: '未计入的设备',
    sheet_notes: '说明',
    sheet_none: '既无设备清单也无建筑面积，无法按需要系数法计算。',
    sheet_none_short: '无法计算',
    sheet_area_method: '单位面积负荷密度法没有分项设备表。',
    excluded_standby: '备用设备，正常运行时不投入',
    excluded_fire: '消防泵，仅火灾时运行（此时正常负荷已切除）',
    note_area_method: 'P30 = {w} W/m² × {area} m² ÷ 1000（行业设计负荷密度，已含同时系数）。',
    note_single_group: '只有一类设备：同时系数 K∑p = K∑q = 1.0。',
    note_compensation: '无功补偿 Qc = {qc} kvar，将功率因数从 {from} 提高到 {to}。',
    note_density: '单位面积装机 {w} W/m² 远超出该行业常见范围 {lo}–{hi} W/m²，请核对设备清单和面积。',
    load_rate: '负载率',
    compare_model: '模型推荐',
    compare_engineering: '需要系数法',
    compare_same: '两种方法结果一致。',
    compare_higher: (p) => `模型推荐比需要系数法高 ${p.n} 档。`,
    compare_lower: (p) => `模型推荐比需要系数法低 ${p.n} 档（需要系数法通常偏保守）。`,
    compare_higher_plain: '模型推荐高于需要系数法。',
    compare_lower_plain: '模型推荐低于需要系数法。',
    compare_no_engineering: '没有需要系数法结果可对照。',
    bounds_text: '规则合理范围：{lo} – {hi}',
    matches_title: '设备名称识别',
    matches_all: '全部 {n} 行设备均已确定类别。',
    matches_unmatched: '{n} 行设备名称无法识别，未计入计算。请在表单中为其选择类别后重新计算。',
    match_col_text: '填写的名称',
    match_col_category: '识别为',
    match_col_how: '方式',
    match_source_code: '已选类别',
    match_source_name: '按名称识别',
    match_source_unmatched: '未识别',
    unmatched: '未识别',
    btn_fix_row: '去选择类别',
    meta_line: '模型版本 {version} · {source} · 推荐编号 {id}',
    verdict_title: '规划审核结论',
    verdict_appropriate: '容量合适',
    verdict_undersized: '容量偏小',
    verdict_oversized: '容量偏大',
    verdict_proposed: '申报 {kva}',
    verdict_alternative: '建议容量：',
    verdict_is_recommended: '申报容量与推荐容量一致。',
    yearly_charge_proposed: '申报容量每年基本电费',
    yearly_charge_recommended: '推荐容量每年基本电费',
    yearly_difference: '每年相差',
    diff_more: '申报方案每年多 {yuan}',
    diff_less: '申报方案每年少 {yuan}',
    diff_same: '相同',
    not_standard: '{kva} 不是标准容量系列中的值。',
    yuan: '{n} 元',
  },
  en: {
    app_title: 'Connection capacity recommendation',
    app_subtitle: 'A standard transformer capacity from industry, floor area and equipment list — with the reasons',
    doc_title: 'Connection capacity recommendation',
    skip_to_main: 'Skip to main content',
    mode_label: 'Mode',
    mode_customer: 'Customer',
    mode_planner: 'Planner check',
    form_title: 'Application',
    form_intro: 'Fields marked * are required. Give at least an equipment list or a floor area; press Enter in any field to submit.',
    examples_label: 'Load an example:',
    example_machinery_workshop: 'Machining workshop',
    example_office_building: 'Office building',
    example_area_only_retail: 'Retail (area only)',
    section_general: 'General',
    label_industry: 'Industry',
    ph_industry: 'Type to search (English or Chinese)',
    hint_industry_pick: 'Pick an industry from the list',
    hint_industry_count: '{n} industries; type to filter',
    label_climate: 'Climate zone',
    climate_unknown: 'Unknown',
    label_area: 'Floor area',
    label_employees: 'Employees',
    label_shifts: 'Shifts',
    unit_shifts: '(1–3 per day)',
    label_proposed: 'Proposed capacity',
    section_planner: 'Planner check',
    ph_proposed: 'e.g. 630',
    ph_area: 'e.g. 4200',
    ph_employees: 'e.g. 85',
    ph_shifts: '1, 2 or 3',
    hint_proposed: 'The capacity the planner intends to grant or the customer applied for; non-standard values are allowed',
    section_equipment: 'Equipment list',
    equipment_help: 'Each line is a number of identical units. Type the name as written (e.g. “CNC lathe CK6140” or “数控车床”) and the category is recognised automatically, or pick the category yourself. Standby units and fire pumps do not count towards the calculated load.',
    equipment_empty: 'No equipment yet. Add a line, add by category, paste from a spreadsheet or upload a CSV.',
    col_name: 'Equipment name',
    col_category: 'Category',
    col_kw: 'kW per unit',
    col_qty: 'Units',
    col_standby: 'Standby',
    ph_eq_name: 'e.g. screw compressor 37kW',
    ph_kw: '7.5',
    cat_auto: 'Automatic (from the name)',
    btn_add_row: '+ Add a line (type a name)',
    label_add_category: 'Add by category',
    btn_add: 'Add',
    btn_clear: 'Clear list',
    btn_remove: 'Remove',
    remove_row_n: 'Remove line {n}',
    row_n: 'Line {n}',
    rows_count: (p) => `${p.n} line${p.n === 1 ? '' : 's'}`,
    row_removed: 'Line {n} removed.',
    rows_cleared: 'Equipment list cleared.',
    paste_summary: 'Paste from a spreadsheet',
    paste_help: 'Copy rows in Excel/WPS and paste them here (or straight into an “Equipment name” box). Columns: name or category, kW per unit, units, standby (yes/no). A header row is skipped.',
    label_paste: 'Paste area',
    btn_paste_add: 'Add these lines',
    label_csv: 'Upload an equipment CSV',
    btn_choose_csv: 'Choose a CSV file…',
    no_file: 'No file chosen',
    csv_help: 'The contract’s equipment.csv format: category,rated_kw,quantity,standby,name (customer_id optional). UTF-8 or GBK.',
    btn_recommend: 'Recommend a capacity',
    btn_check: 'Check the proposal',
    btn_working: 'Calculating…',
    btn_reset: 'Clear form',
    btn_retry: 'Retry',
    footer_note: 'An aid to the decision; the supply scheme reply decides the capacity.',
    footer_api: 'API documentation',
    confirm_reset: 'Clear the whole form, including the equipment list?',
    confirm_clear: 'Remove every line of the equipment list?',

    match_pending: 'Recognising the category…',
    match_error: 'Category recognition is unavailable right now; the server will match the name on submit.',
    match_too_long: 'Names are limited to 200 characters.',
    match_auto: 'Will be recognised as',
    match_kw_hint: '(name says {kw} kW)',
    match_low: 'Possibly “{name}”, but only {conf} confident: this line will be left out. Choose a category or accept the suggestion.',
    match_none: 'The category cannot be recognised from this name: the line will be left out. Choose a category.',
    match_overridden: 'The name reads as “{name}” ({conf}); your chosen category is used.',
    match_agrees: 'Agrees with the name ({conf})',
    confidence: 'Confidence',
    btn_accept: 'Accept',
    btn_accept_aria: 'Accept category {name} for line {n}',

    source_csv: 'the CSV file',
    source_paste: 'the pasted text',
    import_added: (p) => `Added ${p.n} line${p.n === 1 ? '' : 's'} from ${p.source}.`,
    import_nothing: 'No equipment lines found in {source}.',
    import_empty: 'The content is empty.',
    import_no_header: 'No header row: a rated_kw column and a category or name column are needed.',
    import_skipped_blank: 'Skipped {n} blank row(s).',
    import_unknown_category: '{n} row(s) had an unknown category code; it was used as the name instead.',
    import_bad_standby: '{n} row(s) had an unreadable standby value; read as “no”.',
    import_header_skipped: 'The first row looked like a header and was skipped.',
    import_many_customers: 'The file lists {n} customers; only the first one’s equipment ({id}) was loaded.',
    import_truncated: '{n} line(s) were not loaded: the limit is {max} lines.',
    import_encoding: '({file}, {enc})',
    import_failed: 'Could not read the file: {detail}',
    import_paste_empty: 'Paste the spreadsheet cells into the paste area first.',

    errors_title: (p) => `Please correct ${p.n === 1 ? 'this' : `these ${p.n}`} before submitting:`,
    errors_title_server: (p) => `The server did not accept the application (${p.n} problem${p.n === 1 ? '' : 's'}):`,
    err_industry_required: 'Choose an industry.',
    err_industry_unknown: 'No industry called “{text}”: pick one from the list.',
    err_number: 'Enter a number.',
    err_integer: 'Enter a whole number.',
    err_positive: 'Must be greater than 0.',
    err_min: 'Must be at least {min}.',
    err_max: 'Must be at most {max}.',
    err_shifts: 'Shifts must be 1, 2 or 3.',
    err_row_name: 'Enter an equipment name or choose a category.',
    err_kw_required: 'Enter the rating of one unit in kW.',
    err_kw_positive: 'The rating must be greater than 0 kW.',
    err_qty_integer: 'Units must be a whole number.',
    err_qty_min: 'At least 1 unit.',
    err_too_many_rows: 'At most {max} equipment lines.',
    err_need_equipment_or_area: 'Give at least one equipment line or a floor area.',
    err_need_equipment_or_area_short: 'Without an equipment list, a floor area is needed.',
    err_proposed_required: 'Enter the proposed capacity in kVA.',
    err_network: 'Cannot reach the recommendation service. {detail}',
    err_http: 'The server answered with an error (HTTP {status}).',
    err_not_ready: 'The recommendation service is not ready (no model loaded); try again later or contact the administrator.',
    err_catalog: 'Could not load the industry and category catalog ({detail}).',
    expected: 'expected',
    colon: ': ',
    row_suffix: ' (line {n})',

    status_fix: (p) => `${p.n} field${p.n === 1 ? ' needs' : 's need'} correcting.`,
    status_working: 'Calculating…',
    status_done: 'Done: recommended capacity {kva}.',
    status_check_done: 'Checked: proposed {kva} — {verdict}; recommended {rec}.',
    status_server_errors: (p) => `The server found ${p.n} problem${p.n === 1 ? '' : 's'}; please correct.`,
    status_example_loaded: 'Example “{name}” loaded.',

    results_title: 'Recommendation',
    results_title_check: 'Planner check',
    btn_print: 'Print / save as PDF',
    btn_edit: 'Edit the application',
    stale_note: 'The form has changed since this answer was calculated. Submit again to update it.',
    print_meta: 'Generated {time} · recommendation id {id}',
    recommended_capacity: 'Recommended capacity',
    source_model: 'Model answer',
    source_fallback: 'Fallback estimate',
    source_fallback_reason: 'Fallback: {reason}',
    fallback_area_only: 'floor area only',
    fallback_no_equipment_no_area: 'industry only',
    fallback_unknown_industry: 'industry not in history',
    manual_review: 'Manual review',
    manual_review_generic: 'This answer needs a manual review.',
    supply_voltage: 'Supply voltage',
    voltage_220V: '220 V (single-phase)',
    voltage_0_4kV: '0.4 kV (low voltage)',
    voltage_10kV: '10 kV (medium voltage)',
    voltage_35kV_: '35 kV or higher',
    two_part_tariff: 'Two-part tariff',
    yes_tariff: 'Yes (≥ 315 kVA)',
    no_tariff: 'No (< 315 kVA)',
    monthly_charge: 'Capacity charge',
    monthly_charge_value: '{yuan} per month ({price} yuan/kVA·month)',
    monthly_charge_none: 'None (single-part tariff)',
    p_appropriate_label: 'Probability the size is right',
    expected_load_rate: 'Expected load rate',
    predicted_peak: 'Predicted peak demand',
    interval80: '80 % interval',
    interval90: '90 % interval',
    outcome_appropriate: 'Appropriate',
    outcome_undersized: 'Undersized',
    outcome_oversized: 'Oversized',
    recommended_short: 'Recommended',
    proposed_short: 'Proposed',
    warnings_title: 'Please note',
    tiers_title: 'Outcome probabilities of neighbouring standard capacities',
    tiers_help: 'One column per standard capacity: the taller the green part, the better the fit. The outlined column is the recommendation.',
    show_table: 'Show the numbers',
    col_capacity: 'Capacity',
    drivers_title: 'What drives the predicted peak',
    drivers_help: 'Contribution of each factor to the predicted peak, in kW; they add up to {peak}. Positive values raise the peak, negative values lower it.',
    drivers_positive: 'Raises the peak',
    drivers_negative: 'Lowers the peak',
    drivers_other: (p) => `${p.n} other factor${p.n === 1 ? '' : 's'}`,
    drivers_base: 'Base value',
    drivers_none: 'No factors to show.',
    driver_detail: 'demand-coefficient {eng}, model correction {corr}',
    peers_title: 'Compared with similar customers',
    peers_group: 'Peers: {industry} · scale {band} ·',
    peers_group_industry: 'Peers: {industry} (too few of the same scale, whole industry) ·',
    peers_n: (p) => `n = ${p.n}`,
    peers_few: 'Few comparable customers: the comparison is indicative only.',
    peers_none: 'No comparable historical customers.',
    peers_no_metric: 'Without installed kW or floor area there is nothing to compare.',
    peers_this: 'This application',
    peers_metric_kw: 'Peak per installed kW',
    peers_metric_m2: 'Peak per floor area',
    peers_sentence: 'This application: {value}, {pct}; peers’ median {p50}.',
    percentile: 'percentile {p}',
    scale_unknown: 'unknown',
    summary_title: 'Application summary',
    equipment_lines: 'Equipment list',
    installed_kw: 'Installed (excluding standby)',
    standby_kw: 'Standby installed',
    basis: 'Based on',
    basis_equipment: 'the equipment list',
    basis_area: 'the floor area',
    basis_industry: 'the industry’s typical customer',
    sheet_title: 'Demand-coefficient calculation sheet (for comparison)',
    sheet_help: 'The classical design method: Pjs = Kx·Pe, Qjs = Pjs·tanφ; P30 = K∑p·ΣPjs, Q30 = K∑q·ΣQjs; compensate to cos φ 0.9, then the smallest transformer with load rate ≤ 85 %.',
    sheet_help_area: 'No recognisable equipment list: the unit-area load-density method is used.',
    sheet_caption: 'Calculated load per equipment category',
    sheet_totals_caption: 'Totals and transformer choice',
    sheet_col_category: 'Category',
    sheet_total: 'Total',
    sheet_cos_natural: 'Natural power factor cos φ',
    sheet_qc: 'Compensation Qc',
    sheet_q30_comp: 'Q30 after compensation',
    sheet_s30_comp: 'S30 after compensation',
    sheet_i30_comp: 'I30 after compensation',
    sheet_transformer: 'Transformer',
    sheet_excluded: 'Left out of the calculation',
    sheet_notes: 'Notes',
    sheet_none: 'Neither an equipment list nor a floor area: no demand-coefficient calculation.',
    sheet_none_short: 'not possible',
    sheet_area_method: 'The unit-area method has no per-category table.',
    excluded_standby: 'standby unit, does not run in normal operation',
    excluded_fire: 'fire pump, runs only in a fire when normal load is shed',
    note_area_method: 'P30 = {w} W/m² × {area} m² ÷ 1000 (the industry’s design density, simultaneity included).',
    note_single_group: 'One category only: simultaneity factors K∑p = K∑q = 1.0.',
    note_compensation: 'Compensation Qc = {qc} kvar raises the power factor from {from} to {to}.',
    note_density: 'Installed density {w} W/m² is far outside this industry’s usual {lo}–{hi} W/m²: check the equipment list and floor area.',
    load_rate: 'load rate',
    compare_model: 'Model',
    compare_engineering: 'Demand-coefficient method',
    compare_same: 'Both methods give the same capacity.',
    compare_higher: (p) => `The model is ${p.n} standard size${p.n === 1 ? '' : 's'} above the demand-coefficient method.`,
    compare_lower: (p) => `The model is ${p.n} standard size${p.n === 1 ? '' : 's'} below the demand-coefficient method (which tends to be conservative).`,
    compare_higher_plain: 'The model is above the demand-coefficient method.',
    compare_lower_plain: 'The model is below the demand-coefficient method.',
    compare_no_engineering: 'No demand-coefficient result to compare with.',
    bounds_text: 'Rule-based sanity range: {lo} – {hi}',
    matches_title: 'Equipment name matching',
    matches_all: (p) => `All ${p.n} equipment line${p.n === 1 ? ' has' : 's have'} a category.`,
    matches_unmatched: (p) => `${p.n} equipment name${p.n === 1 ? '' : 's'} could not be recognised and ${p.n === 1 ? 'was' : 'were'} left out. Choose a category in the form and submit again.`,
    match_col_text: 'Name as entered',
    match_col_category: 'Became',
    match_col_how: 'How',
    match_source_code: 'category chosen',
    match_source_name: 'recognised from the name',
    match_source_unmatched: 'not recognised',
    unmatched: 'Not recognised',
    btn_fix_row: 'Choose a category',
    meta_line: 'Model version {version} · {source} · recommendation id {id}',
    verdict_title: 'Planner verdict',
    verdict_appropriate: 'Appropriate',
    verdict_undersized: 'Undersized',
    verdict_oversized: 'Oversized',
    verdict_proposed: 'proposed {kva}',
    verdict_alternative: 'Recommended instead:',
    verdict_is_recommended: 'The proposal equals the recommended capacity.',
    yearly_charge_proposed: 'Yearly capacity charge, proposed',
    yearly_charge_recommended: 'Yearly capacity charge, recommended',
    yearly_difference: 'Yearly difference',
    diff_more: 'the proposal costs {yuan} more per year',
    diff_less: 'the proposal costs {yuan} less per year',
    diff_same: 'none',
    not_standard: '{kva} is not in the standard capacity series.',
    yuan: '{n} yuan',
  },
};

/** @type {Lang} */
let lang = readStored();
/** @type {Array<(lang: Lang) => void>} */
const listeners = [];

/** @returns {Lang} */
function readStored() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    if (v === 'en' || v === 'zh') return v;
  } catch { /* storage blocked */ }
  return 'zh';
}

/** @returns {Lang} */
export function getLang() {
  return lang;
}

/** @param {string} next */
export function setLang(next) {
  if (next !== 'zh' && next !== 'en') return;
  lang = next;
  try { localStorage.setItem(STORAGE_KEY, next); } catch { /* storage blocked */ }
  for (const fn of listeners) fn(next);
}

/** @param {(lang: Lang) => void} fn */
export function onLangChange(fn) {
  listeners.push(fn);
}

/**
 * Translate `key` with {placeholders} from `params`; `fallback` when the key is unknown.
 * @param {string} key
 * @param {Params} [params]
 * @param {string} [fallback]
 * @returns {string}
 */
export function t(key, params = {}, fallback) {
  let v = DICT[lang][key];
  if (v === undefined) v = DICT.zh[key];
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    console.warn(`i18n: missing key ${key}`);
    return key;
  }
  if (typeof v === 'function') return v(params);
  return v.replace(/\{(\w+)\}/g, (/** @type {string} */ m, /** @type {string} */ name) => (name in params ? String(params[name]) : m));
}

/**
 * Fill every [data-i18n], [data-i18n-placeholder], [data-i18n-aria-label] below `root`.
 * @param {ParentNode} [root]
 */
export function applyI18n(root = document) {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('doc_title');
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(/** @type {HTMLElement} */ (el).dataset.i18n ?? ''); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((el) => {
    const input = /** @type {HTMLInputElement} */ (el);
    input.placeholder = t(input.dataset.i18nPlaceholder ?? '');
  });
  root.querySelectorAll('[data-i18n-aria-label]').forEach((el) => { el.setAttribute('aria-label', t(/** @type {HTMLElement} */ (el).dataset.i18nAriaLabel ?? '')); });
}

/**
 * The name of a catalog entry ({name_zh, name_en}) in the current language.
 * @param {{ name_zh: string, name_en: string } | null | undefined} entry
 * @returns {string}
 */
export function catName(entry) {
  if (!entry) return '';
  return lang === 'zh' ? entry.name_zh : entry.name_en;
}

/** @returns {string} */
function locale() {
  return lang === 'zh' ? 'zh-CN' : 'en-GB';
}

/**
 * @param {unknown} x
 * @param {number} [digits]
 * @returns {string}
 */
export function fmtNum(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return '—';
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(Number(x));
}

/**
 * @param {unknown} x
 * @param {number} digits
 * @returns {string}
 */
export function fmtFixed(x, digits) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return '—';
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(Number(x));
}

/**
 * @param {unknown} p
 * @returns {string}
 */
export function fmtPct(p) {
  if (p === null || p === undefined || Number.isNaN(Number(p))) return '—';
  return `${Math.round(Number(p) * 100)}%`;
}

/**
 * @param {unknown} x
 * @returns {string}
 */
export function fmtKva(x) {
  return `${fmtNum(x, 0)} kVA`;
}

/**
 * @param {unknown} x
 * @returns {string}
 */
export function fmtKw(x) {
  return `${fmtNum(x, Math.abs(Number(x)) < 10 ? 1 : 0)} kW`;
}

/**
 * @param {unknown} x
 * @returns {string}
 */
export function fmtYuan(x) {
  return t('yuan', { n: fmtNum(x, 0) });
}
