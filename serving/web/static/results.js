// The answer: cards, charts (drawn at their container's width) and the tier table.

import { $, h, tableWrap } from './dom.js';
import { t, getLang, fmtNum, fmtPct, fmtKva, fmtKw, fmtYuan, catName } from './i18n.js';
import { tierChart, driversChart, peerChart, intervalChart, probBar } from './charts.js';
import { sheetCard } from './sheet.js';
import { addAllowance } from './rows.js';
import { isIndustryName } from './catalog.js';

export const MAX_DRIVERS = 10;

export function renderResults(state) {
  const box = $('#results');
  state.chartJobs = [];
  if (!state.result) { box.hidden = true; box.replaceChildren(); return; }
  const { kind, data, app } = state.result;
  const rec = kind === 'check' ? data.recommendation : data;
  box.hidden = false;
  const cards = [];
  cards.push(h('div', { class: 'results-head' }, [
    h('h2', { id: 'results-title', text: t(kind === 'check' ? 'results_title_check' : 'results_title') }),
    h('div', { class: 'results-actions no-print' }, [
      h('button', { type: 'button', id: 'print-btn', class: 'btn secondary', text: t('btn_print'), onclick: () => window.print() }),
      h('button', { type: 'button', class: 'btn ghost', text: t('btn_edit'), onclick: () => { $('#industry').focus(); $('#app-form').scrollIntoView({ block: 'start' }); } }),
    ]),
  ]));
  cards.push(h('p', { id: 'stale-note', class: 'notice warn no-print', hidden: true, text: t('stale_note') }));
  cards.push(h('p', { class: 'print-meta', text: t('print_meta', { time: state.result.at.toLocaleString(getLang() === 'zh' ? 'zh-CN' : 'en-GB'), id: shortId(rec.id) }) }));
  if (kind === 'check') cards.push(verdictCard(state, data));
  cards.push(heroCard(state, rec));
  if (rec.existing) cards.push(existingCard(state, rec));
  const shown = rec.warnings.filter((w) => w.code !== 'missing_load');
  if (shown.length || rec.manual_review) cards.push(warningsCard(state, rec, shown));
  const completeness = missingCard(state, rec);
  if (completeness) cards.push(completeness);
  if (rec.tariff) cards.push(tariffCard(rec.tariff));
  cards.push(h('div', { class: 'grid2' }, [tiersCard(state, rec, kind === 'check' ? data.proposed_kva : null), driversCard(state, rec)]));
  cards.push(h('div', { class: 'grid2' }, [peersCard(state, rec), summaryCard(state, rec, app)]));
  cards.push(sheetCard(state, rec));
  if (rec.matches.length) cards.push(matchesCard(state, rec));
  if (kind !== 'check') cards.push(nextStepsCard(state, rec));
  cards.push(metaLine(rec));
  box.replaceChildren(...cards);
  drawCharts(state);
  markScrollingTables(box);
  // Page modules (design.js, sheet-export.js) add to the answer.
  document.dispatchEvent(new CustomEvent('capacity:result', { detail: state.result }));
}

/**
 * The recommendation number as the customer reads it out on the phone: the first eight
 * characters of the logged id, upper case, in two groups ("3F2A-91C0"). The full id is
 * kept in the answer (and the log) for the utility's systems.
 */
export function shortId(id) {
  if (!id) return '—';
  const s = String(id).replace(/[^0-9a-z]/gi, '').slice(0, 8).toUpperCase();
  return s.length === 8 ? `${s.slice(0, 4)}-${s.slice(4)}` : s;
}

/** A wide table on a narrow screen says that it scrolls sideways. */
function markScrollingTables(root) {
  requestAnimationFrame(() => {
    root.querySelectorAll('.table-wrap').forEach((wrap) => {
      const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      wrap.classList.toggle('scrolls', scrolls);
      const prev = wrap.previousElementSibling;
      const has = prev && prev.classList.contains('scroll-hint');
      if (scrolls && !has) wrap.before(h('p', { class: 'scroll-hint hint small no-print', text: t('table_scroll_hint') }));
      else if (!scrolls && has) prev.remove();
    });
  });
}

/** A warning's text from its code and parameters, in the page's language. */
export function warningText(state, w) {
  const p = { ...(w.params || {}) };
  if (w.code === 'clamped') {
    return t('warn_clamped', { policy_kva: fmtNum(p.policy_kva, 0), final_kva: fmtNum(p.final_kva, 0), rule: ruleText(state, p.rule_code, p.rule_params || {}) });
  }
  for (const k of ['n', 'min']) if (typeof p[k] === 'number') p[k] = fmtNum(p[k], 0);
  if (w.code === 'few_customers' || w.code === 'equipment_list_gain') {
    for (const k of ['weight', 'accuracy_with_list', 'accuracy_area_only']) if (typeof p[k] === 'number') p[k] = fmtPct(p[k]);
    if (p.industry) p.industry = catName(state.industries.get(p.industry)) || p.industry;
  }
  return t(`warn_${w.code}`, p, getLang() === 'zh' ? w.message_zh : w.message_en);
}

/** A bound rule (bound_unit, bound_s30_high…) from its code and evidence. */
export function ruleText(state, code, p) {
  if (!code) return '';
  const ind = p.industry ? state.industries.get(p.industry) : null;
  const scope = ind
    ? t('bound_scope_industry', { n: fmtNum(p.n, 0), industry: catName(ind) })
    : t('bound_scope_all', { n: fmtNum(p.n_pooled, 0) });
  return t(code, {
    scope,
    share: `${fmtNum(100 * (p.share ?? 0), 1)}%`,
    ratio: fmtNum(p.ratio, 2),
    s30_kva: fmtNum(p.s30_kva, 0),
    installed_kw: fmtNum(p.installed_kw, 0),
    largest_kw: fmtNum(p.largest_kw, 1),
    base_kw: fmtNum(p.base_kw, 1),
  });
}

/** Loads most similar customers list and this list lacks, with "add it" buttons. */
function missingCard(state, rec) {
  const missing = rec.missing_loads || [];
  const included = state.result.included || [];
  if (!missing.length && !included.length) return null;
  const cat = (code) => catName(state.categories.get(code)) || code;
  const children = [h('h3', { id: 'missing-title', text: t('missing_title') })];
  if (missing.length) {
    children.push(h('ul', { id: 'missing-list', class: 'missing-list' }, missing.map((m) => h('li', { 'data-category': m.category }, [
      h('span', { text: t('missing_item', { name: cat(m.category), share: fmtPct(m.share_of_peers), kw: fmtKw(m.typical_kw) }) }), ' ',
      h('button', {
        type: 'button', class: 'btn tiny secondary no-print add-allowance', text: t('btn_add_allowance', { kw: fmtKw(m.typical_kw) }),
        'aria-label': t('btn_add_allowance_aria', { name: cat(m.category), kw: fmtKw(m.typical_kw) }),
        onclick: () => addAllowance(state, m),
      }),
    ]))));
    children.push(h('p', { class: 'notice warn', id: 'missing-included', text: t('missing_not_included') }));
  }
  if (included.length) {
    children.push(h('p', { class: 'notice ok', id: 'allowance-included', text: t('allowance_included', { names: included.map(cat).join(getLang() === 'zh' ? '、' : ', ') }) }));
  }
  return h('section', { class: 'card missing', 'aria-labelledby': 'missing-title' }, children);
}

/** 基本电费 by capacity against by maximum demand (two-part tariff answers). */
function tariffCard(tr) {
  const better = tr.cheaper === 'demand' ? 'tariff_cheaper_demand' : 'tariff_cheaper_capacity';
  return h('section', { class: 'card tariff', 'aria-labelledby': 'tariff-title', id: 'tariff-card', 'data-cheaper': tr.cheaper }, [
    h('h3', { id: 'tariff-title', text: t('tariff_title') }),
    h('p', { class: 'hint small', text: t('tariff_help') }),
    h('dl', { class: 'facts' }, [
      h('dt', { text: t('tariff_by_capacity') }),
      h('dd', { id: 'tariff-capacity', 'data-yuan': tr.monthly_by_capacity_yuan }, [
        h('strong', { text: t('per_month', { yuan: fmtYuan(tr.monthly_by_capacity_yuan) }) }), ' ',
        h('span', { class: 'hint small', text: t('tariff_by_capacity_detail', { kva: fmtKva(tr.capacity_kva), price: fmtNum(tr.capacity_price_yuan_per_kva_month) }) }),
      ]),
      h('dt', { text: t('tariff_by_demand') }),
      h('dd', { id: 'tariff-demand', 'data-yuan': tr.monthly_by_demand_yuan }, [
        h('strong', { text: t('per_month', { yuan: fmtYuan(tr.monthly_by_demand_yuan) }) }), ' ',
        h('span', { class: 'hint small', text: t('tariff_by_demand_detail', { kw: fmtKw(tr.expected_billed_demand_kw), price: fmtNum(tr.demand_price_yuan_per_kw_month), share: fmtPct(tr.min_demand_share), floor: fmtKw(tr.min_demand_kw) }) }),
      ]),
    ]),
    h('p', { class: 'tariff-verdict strong', id: 'tariff-verdict', 'data-yearly': tr.yearly_saving_yuan, text: t(better, { yuan: fmtYuan(tr.yearly_saving_yuan) }) }),
    h('p', { class: 'hint small', text: t('tariff_note') }),
  ]);
}

/** What to do with the answer: the utility's own texts (configuration, /api/catalog). */
function nextStepsCard(state, rec) {
  const all = state.catalog.next_steps || {};
  const texts = all[getLang()] || all.zh;
  if (!texts) return h('span', { hidden: true });
  return h('section', { class: 'card next-steps', id: 'next-steps', 'aria-labelledby': 'next-title' }, [
    h('h3', { id: 'next-title', text: texts.title }),
    h('p', { class: 'next-apply strong', text: String(texts.apply).replace('{kva}', fmtKva(rec.recommended_kva)) }),
    h('div', { class: 'grid2 next-grid' }, [
      h('div', {}, [h('h4', { text: texts.bring_title }), h('ul', {}, (texts.bring || []).map((x) => h('li', { text: x })))]),
      h('div', {}, [h('h4', { text: texts.utility_title }), h('ol', {}, (texts.utility || []).map((x) => h('li', { text: x })))]),
    ]),
    texts.contact ? h('p', { class: 'hint', text: texts.contact }) : null,
    h('p', { class: 'rec-number' }, [t('rec_number_label'), h('strong', { id: 'rec-number', text: shortId(rec.id) })]),
    h('p', { class: 'no-print' }, [h('button', { type: 'button', class: 'btn secondary', text: t('next_print'), onclick: () => window.print() })]),
  ]);
}

export function drawCharts(state, onlyChanged = false) {
  for (const job of state.chartJobs) {
    const w = job.host.clientWidth;
    if (!w) continue;
    if (onlyChanged && Math.abs(w - (job.lastWidth || 0)) < 2) continue;
    job.lastWidth = w;
    job.host.replaceChildren(job.draw(w));
  }
}

export function chartHost(state, draw, cls) {
  const host = h('div', { class: `chart-host ${cls || ''}` });
  state.chartJobs.push({ host, draw });
  return host;
}

export function outcomeLabels() {
  return {
    appropriate: t('outcome_appropriate'), undersized: t('outcome_undersized'), oversized: t('outcome_oversized'),
    recommended: t('recommended_short'), proposed: t('proposed_short'),
  };
}

export function probLegend() {
  return h('ul', { class: 'legend' }, ['appropriate', 'undersized', 'oversized'].map((k) => h('li', {}, [h('span', { class: `swatch swatch-${k}`, 'aria-hidden': 'true' }), t(`outcome_${k}`)])));
}

export function voltageText(v) {
  return t(`voltage_${String(v).replace(/[^a-z0-9]/gi, '_')}`, {}, v);
}

export function verdictCard(state, c) {
  const diff = c.yearly_difference_yuan;
  // Appropriate but dearer than the recommendation: said in words and yuan, not a green ✓.
  const costlier = c.verdict === 'appropriate' && diff >= 0.5;
  const shown = costlier ? 'costlier' : c.verdict;
  const cls = `verdict verdict-${shown}`;
  const icon = { appropriate: '✓', undersized: '▼', oversized: '▲', costlier: '!' }[shown];
  let diffText;
  if (Math.abs(diff) < 0.5) diffText = t('diff_same');
  else if (diff > 0) diffText = t('diff_more', { yuan: fmtYuan(diff) });
  else diffText = t('diff_less', { yuan: fmtYuan(-diff) });
  const same = Math.abs(c.proposed_kva - c.recommended_kva) < 1e-6;
  return h('section', { class: `card ${cls}`, 'aria-labelledby': 'verdict-title' }, [h('div', { class: 'verdict-left' }, [
    h('h3', { id: 'verdict-title', text: t('verdict_title') }),
    h('p', { class: 'verdict-main' }, [
      h('span', { class: 'verdict-badge', id: 'verdict-badge', 'data-verdict': c.verdict, 'data-costlier': costlier ? 'true' : null }, [h('span', { 'aria-hidden': 'true', text: `${icon} ` }), t(`verdict_${shown}`)]),
      h('span', { class: 'verdict-kva', text: t('verdict_proposed', { kva: fmtKva(c.proposed_kva) }) }),
    ]),
    costlier ? h('p', { class: 'verdict-costlier strong', id: 'verdict-costlier', text: t('verdict_costlier_detail', { yuan: fmtYuan(diff), kva: fmtKva(c.recommended_kva) }) }) : null,
    probBar(c, outcomeLabels(), fmtPct),
    h('ul', { class: 'prob-list' }, ['appropriate', 'undersized', 'oversized'].map((k) => h('li', {}, [
      h('span', { class: `swatch swatch-${k}`, 'aria-hidden': 'true' }), `${t(`outcome_${k}`)} `, h('strong', { text: fmtPct(c[`p_${k}`]) }),
    ]))),
    h('p', { class: 'verdict-alt' }, [same
      ? t('verdict_is_recommended')
      : [t('verdict_alternative'), ' ', h('strong', { text: fmtKva(c.recommended_kva) }), ` (${t('outcome_appropriate')} ${fmtPct(c.recommended_p_appropriate)})`]].flat()),
  ]), h('div', { class: 'verdict-right' }, [
    h('dl', { class: 'facts compact' }, [
      h('dt', { text: t('yearly_charge_proposed') }), h('dd', { text: fmtYuan(c.yearly_capacity_charge_proposed_yuan) }),
      h('dt', { text: t('yearly_charge_recommended') }), h('dd', { text: fmtYuan(c.yearly_capacity_charge_recommended_yuan) }),
      h('dt', { text: t('yearly_difference') }), h('dd', { class: 'strong', id: 'yearly-diff', text: diffText }),
      h('dt', { text: t('expected_load_rate') }), h('dd', { text: fmtPct(c.expected_load_rate) }),
    ]),
    c.proposed_is_standard ? null : h('p', { class: 'notice warn', text: t('not_standard', { kva: fmtKva(c.proposed_kva) }) }),
  ])]);
}

export function heroCard(state, rec) {
  const tariff = rec.two_part_tariff;
  const facts = [
    [t('supply_voltage'), voltageText(rec.supply_voltage)],
    [t('two_part_tariff'), tariff ? t('yes_tariff') : t('no_tariff')],
    [t('monthly_charge'), tariff
      ? t('monthly_charge_value', { yuan: fmtYuan(rec.monthly_capacity_charge_yuan), price: fmtNum(rec.capacity_price_yuan_per_kva_month) })
      : t('monthly_charge_none')],
    [t('p_appropriate_label'), fmtPct(rec.p_appropriate)],
    [t('expected_load_rate'), fmtPct(rec.expected_load_rate)],
  ];
  return h('section', { class: 'card hero', 'aria-labelledby': 'hero-label' }, [
    h('div', { class: 'hero-main' }, [
      h('p', { id: 'hero-label', class: 'hero-label', text: t('recommended_capacity') }),
      h('p', { class: 'hero-value' }, [h('span', { id: 'recommended-kva', 'data-kva': rec.recommended_kva, text: fmtNum(rec.recommended_kva, 0) }), h('span', { class: 'hero-unit', text: ' kVA' })]),
      h('p', { class: 'hero-badges' }, [
        h('span', { class: `badge ${rec.source === 'model' ? 'badge-ok' : 'badge-warn'}`, text: rec.source === 'model' ? t('source_model') : t('source_fallback_reason', { reason: t(`fallback_${rec.fallback_reason}`, {}, rec.fallback_reason || '') }) }),
        rec.manual_review ? h('span', { class: 'badge badge-alert', text: t('manual_review') }) : null,
      ]),
      probBar(rec, outcomeLabels(), fmtPct),
      h('p', { class: 'hint small', text: `${t('outcome_appropriate')} ${fmtPct(rec.p_appropriate)} · ${t('outcome_undersized')} ${fmtPct(rec.p_undersized)} · ${t('outcome_oversized')} ${fmtPct(rec.p_oversized)}` }),
      rec.undersized_risk ? h('p', { id: 'undersized-risk', class: 'hint small', text: t(`warn_${rec.undersized_risk.code}`, rec.undersized_risk.params, getLang() === 'zh' ? rec.undersized_risk.message_zh : rec.undersized_risk.message_en) }) : null,
    ]),
    h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])),
    h('div', { class: 'hero-peak' }, [
      h('h3', { text: t('predicted_peak') }),
      h('p', { class: 'peak-value' }, [h('strong', { id: 'predicted-peak', text: fmtKw(rec.predicted_peak_kw) })]),
      chartHost(state, (w) => intervalChart(rec, { width: w, title: t('predicted_peak'), fmtKw, labels: state.mode === 'planner' ? { peak: t('predicted_peak'), i80: t('interval80'), i90: t('interval90') } : { peak: t('predicted_peak'), i80: t('peers_band_most'), i90: t('peers_band_almost_all') } }), 'interval'),
      h('ul', { class: 'legend', id: 'interval-legend' }, state.mode === 'planner' ? [
        h('li', {}, [h('span', { class: 'swatch swatch-band80', 'aria-hidden': 'true' }), `${t('interval80')} ${fmtKw(rec.peak_low80_kw)} – ${fmtKw(rec.peak_high80_kw)}`]),
        h('li', {}, [h('span', { class: 'swatch swatch-band90', 'aria-hidden': 'true' }), `${t('interval90')} ${fmtKw(rec.peak_low90_kw)} – ${fmtKw(rec.peak_high90_kw)}`]),
      ] : [
        h('li', {}, [h('span', { class: 'swatch swatch-band80', 'aria-hidden': 'true' }), t('interval_plain', { lo: fmtKw(rec.peak_low80_kw), hi: fmtKw(rec.peak_high80_kw) })]),
        h('li', {}, [h('span', { class: 'swatch swatch-band90', 'aria-hidden': 'true' }), t('interval_plain_wide', { lo: fmtKw(rec.peak_low90_kw), hi: fmtKw(rec.peak_high90_kw) })]),
      ]),
    ]),
  ]);
}

/** The parameters of the existing customer's message (serving/messages.py existing_customer). */
export function existingParams(rec) {
  const x = rec.existing;
  return {
    kind: x.application_type,
    months: x.months_metered,
    measured_kw: x.measured_peak_kw,
    demand_metered: x.max_demand_kw != null,
    measured_rate: x.measured_load_rate,
    existing_kva: x.existing_capacity_kva,
    recommended_kva: rec.recommended_kva,
    p_undersized: rec.p_undersized,
    p_undersized_today: x.p_undersized_today,
    yearly_difference_yuan: x.yearly_difference_yuan,
  };
}

/**
 * An existing customer's answer: what the meter shows, the change, today's capacity
 * against the recommendation and the yearly 基本电费 difference, each with a plain
 * explanation.
 */
export function existingCard(state, rec) {
  const x = rec.existing;
  const lang = getLang();
  const diff = x.yearly_difference_yuan;
  let diffText;
  if (Math.abs(diff) < 0.5) diffText = t('existing_yearly_same');
  else if (diff > 0) diffText = t('existing_yearly_more', { yuan: fmtYuan(diff) });
  else diffText = t('existing_yearly_less', { yuan: fmtYuan(-diff) });
  const signedKw = (v) => `${v >= 0 ? '+' : '−'}${fmtKw(Math.abs(v))}`;
  const change = x.capacity_change_kva;
  const verdict = change < 0 ? 'reduce' : change > 0 ? 'increase' : 'keep';
  const fact = (id, label, value, help, data = {}) => [
    h('dt', { text: label }),
    h('dd', { id, ...data }, [h('strong', { text: value }), help ? h('span', { class: 'hint small fact-help', text: ` ${help}` }) : null]),
  ];
  const demandMeter = x.max_demand_kw != null;
  return h('section', { class: `card existing existing-${verdict}`, id: 'existing-card', 'aria-labelledby': 'existing-title', 'data-verdict': verdict }, [
    h('h3', { id: 'existing-title', text: t('existing_title') }),
    h('p', { class: 'existing-message strong', id: 'existing-message', text: t('warn_existing_customer', existingParams(rec), lang === 'zh' ? x.message_zh : x.message_en) }),
    h('dl', { class: 'facts' }, [
      ...fact('existing-today', t('existing_today_vs'), t('existing_today_vs_value', { today: fmtKva(x.existing_capacity_kva), rec: fmtKva(rec.recommended_kva) }),
        t(`existing_verdict_${verdict}`, { kva: fmtKva(Math.abs(change)) }), { 'data-change-kva': change }),
      ...fact('existing-yearly', t('existing_yearly'), diffText, t('existing_yearly_help'), { 'data-yuan': diff }),
      ...fact('existing-risk-today', t('existing_risk_today'), fmtPct(x.p_undersized_today), t('existing_risk_today_help')),
      ...fact('existing-measured', t('existing_measured'), fmtKw(x.measured_peak_kw), t(demandMeter ? 'existing_measured_demand' : 'existing_measured_energy', { months: x.months_metered })),
      ...fact('existing-load-rate', t('existing_load_rate'), fmtPct(x.measured_load_rate), t('existing_load_rate_help'), { 'data-rate': x.measured_load_rate }),
      ...fact('existing-mean', t('existing_mean'), fmtKw(x.mean_kw), t('existing_mean_help', { months: x.months_metered })),
      ...fact('existing-metered', t('existing_metered'), fmtKw(x.metered_part_kw), t('existing_metered_help'), { 'data-kw': x.metered_part_kw }),
      ...fact('existing-change', t('existing_change'), Math.abs(x.change_kw) < 0.05 ? t('existing_change_none') : signedKw(x.change_kw), t('existing_change_help'), { 'data-kw': x.change_kw }),
    ]),
    h('p', { class: 'hint small', text: t('existing_peak_sum', { peak: fmtKw(rec.predicted_peak_kw), metered: fmtKw(x.metered_part_kw), change: signedKw(x.change_kw), corr: signedKw(x.correction_kw) }) }),
  ]);
}

export function warningsCard(state, rec, shown) {
  const items = shown.map((w) => h('li', { 'data-code': w.code, text: warningText(state, w) }));
  if (rec.manual_review && !shown.length) items.push(h('li', { text: t('manual_review_generic') }));
  return h('section', { class: 'card warnings', 'aria-labelledby': 'warnings-title' }, [
    h('h3', { id: 'warnings-title' }, [h('span', { 'aria-hidden': 'true', text: '⚠ ' }), t('warnings_title')]),
    h('ul', { id: 'warnings-list' }, items),
  ]);
}

export function tiersCard(state, rec, proposedKva) {
  return h('section', { class: 'card', 'aria-labelledby': 'tiers-title' }, [
    h('h3', { id: 'tiers-title', text: t('tiers_title') }),
    h('p', { class: 'hint small', text: t('tiers_help') }),
    chartHost(state, (w) => tierChart(rec.tiers, { width: w, title: t('tiers_title'), labels: outcomeLabels(), fmtPct, fmtKva, proposedKva }), 'tiers'),
    probLegend(),
    h('details', { class: 'no-print' }, [
      h('summary', { text: t('show_table') }),
      tableWrap(h('table', { class: 'data' }, [
        h('thead', {}, h('tr', {}, [t('col_capacity'), t('outcome_appropriate'), t('outcome_undersized'), t('outcome_oversized'), t('expected_load_rate'), t('monthly_charge')].map((c, i) => h('th', { scope: 'col', class: i ? 'num' : '', text: c })))),
        h('tbody', {}, rec.tiers.map((tr) => h('tr', { class: tr.recommended ? 'highlight' : '' }, [
          h('th', { scope: 'row', text: `${fmtKva(tr.capacity_kva)}${tr.recommended ? ` (${t('recommended_short')})` : ''}` }),
          h('td', { class: 'num', text: fmtPct(tr.p_appropriate) }), h('td', { class: 'num', text: fmtPct(tr.p_undersized) }), h('td', { class: 'num', text: fmtPct(tr.p_oversized) }),
          h('td', { class: 'num', text: fmtPct(tr.expected_load_rate) }), h('td', { class: 'num', text: tr.monthly_capacity_charge_yuan ? fmtYuan(tr.monthly_capacity_charge_yuan) : '—' }),
        ]))),
      ]), t('tiers_title')),
    ]),
  ]);
}

export function driversCard(state, rec) {
  const lang = getLang();
  // Rows that would read "0 kW" say nothing; an answer without a list shows no
  // equipment rows (their small SHAP terms only say "no list").
  const equipmentKey = (k) => k.startsWith('category:') || k === 'equipment_size' || k === 'equipment_mix';
  const sorted = rec.drivers
    .filter((d) => Math.abs(d.kw) >= 0.05 && (rec.basis === 'equipment' || !equipmentKey(d.key)))
    .sort((a, b) => Math.abs(b.kw) - Math.abs(a.kw));
  const shown = sorted.slice(0, MAX_DRIVERS).map((d) => ({
    label: lang === 'zh' ? d.label_zh : d.label_en,
    kw: d.kw,
    detail: t('driver_detail', { eng: fmtKw(d.engineering_kw), corr: fmtKw(d.correction_kw) }),
  }));
  // Everything not shown is summed into one row, so the bars still add up to the peak.
  const dropped = rec.drivers.filter((d) => !sorted.includes(d));
  const rest = [...sorted.slice(MAX_DRIVERS), ...dropped];
  const restKw = rest.reduce((s, d) => s + d.kw, 0);
  if (rest.length && Math.abs(restKw) >= 0.05) shown.push({ label: t('drivers_other', { n: rest.length }), kw: restKw });
  if (Math.abs(rec.drivers_base_kw || 0) >= 0.05) shown.push({ label: t('drivers_base'), kw: rec.drivers_base_kw });
  const signed = (v) => `${v >= 0 ? '+' : '−'}${fmtNum(Math.abs(v))}`;
  return h('section', { class: 'card', 'aria-labelledby': 'drivers-title' }, [
    h('h3', { id: 'drivers-title', text: t('drivers_title') }),
    h('p', { class: 'hint small', text: t('drivers_help', { peak: fmtKw(rec.predicted_peak_kw) }) }),
    shown.length
      ? chartHost(state, (w) => driversChart(shown, { width: w, title: t('drivers_title'), fmtKw: signed, unit: 'kW' }), 'drivers')
      : h('p', { class: 'hint', text: t('drivers_none') }),
    h('ul', { class: 'legend' }, [
      h('li', {}, [h('span', { class: 'swatch swatch-positive', 'aria-hidden': 'true' }), t('drivers_positive')]),
      h('li', {}, [h('span', { class: 'swatch swatch-negative', 'aria-hidden': 'true' }), t('drivers_negative')]),
    ]),
  ]);
}

export function peersCard(state, rec) {
  const p = rec.peers;
  const ind = state.industries.get(p.industry);
  const children = [h('h3', { id: 'peers-title', text: t('peers_title') })];
  if (p.level === 'none' || p.n_peers === 0) {
    children.push(h('p', { class: 'hint', text: t('peers_none') }));
    return h('section', { class: 'card', 'aria-labelledby': 'peers-title' }, children);
  }
  children.push(h('p', { class: 'peers-group' }, [
    t(p.level === 'industry' ? 'peers_group_industry' : 'peers_group', { industry: ind ? catName(ind) : p.industry, band: scaleBandText(p.scale_band) }),
    ' ', h('strong', { id: 'peers-n', text: t('peers_n', { n: fmtNum(p.n_peers, 0) }) }),
  ]));
  if (p.too_few_peers) children.push(h('p', { class: 'notice warn', text: t('peers_few') }));
  const metrics = [
    ['peak_per_installed_kw', 'this_peak_per_installed_kw', 'percentile_per_installed_kw', 'peers_metric_kw', (v) => fmtNum(v, 2), 'kW/kW'],
    ['peak_w_per_m2', 'this_peak_w_per_m2', 'percentile_w_per_m2', 'peers_metric_m2', (v) => fmtNum(v, 0), 'W/m²'],
  ];
  let drawn = 0;
  for (const [qKey, vKey, pctKey, labelKey, f, unit] of metrics) {
    const q = p[qKey];
    const v = p[vKey];
    if (!q || v == null) continue; // only where this application has the statistic
    drawn += 1;
    const pct = p[pctKey];
    const planner = state.mode === 'planner';
    const pctText = planner && pct != null ? t('percentile', { p: fmtNum(pct, 0) }) : '';
    const sentence = planner
      ? t('peers_sentence', { value: `${f(v)} ${unit}`, pct: pctText || '—', p50: `${f(q.p50)} ${unit}` })
      : t('peers_sentence_plain', { value: `${f(v)} ${unit}`, p10: `${f(q.p10)} ${unit}`, p90: `${f(q.p90)} ${unit}`, p50: `${f(q.p50)} ${unit}` });
    children.push(h('div', { class: 'peer-metric' }, [
      h('h4', { text: `${t(labelKey)} (${unit})` }),
      chartHost(state, (w) => peerChart(q, v, { width: w, title: t(labelKey), fmt: f, thisLabel: t('peers_this'), pctText, tickNames: planner ? undefined : { p10: '', p50: t('peers_typical'), p90: '' } }), 'peers'),
      h('p', { class: 'hint small peers-sentence', text: sentence }),
    ]));
  }
  if (!drawn) children.push(h('p', { class: 'hint', text: t('peers_no_metric') }));
  const planner = state.mode === 'planner';
  children.push(h('ul', { class: 'legend', id: 'peers-legend' }, [
    h('li', {}, [h('span', { class: 'swatch swatch-band90', 'aria-hidden': 'true' }), planner ? 'P5–P95' : t('peers_band_almost_all')]),
    h('li', {}, [h('span', { class: 'swatch swatch-band80', 'aria-hidden': 'true' }), planner ? 'P10–P90' : t('peers_band_most')]),
    h('li', {}, [h('span', { class: 'swatch swatch-marker', 'aria-hidden': 'true' }), t('peers_this')]),
  ]));
  return h('section', { class: 'card', 'aria-labelledby': 'peers-title' }, children);
}

/** "100-315 kW" / "80000+ m2" from the peers as words: "装机 100–315 kW", "面积 80,000 m² 以上". */
export function scaleBandText(band) {
  if (!band || band === 'unknown scale') return t('scale_unknown');
  const m = String(band).match(/^(\d+)(?:-(\d+)|\+)\s*(kW|m2)$/);
  if (!m) return t('scale_unknown');
  const [, lo, hi, unit] = m;
  const kind = unit === 'kW' ? 'scale_kw' : 'scale_m2';
  return hi ? t(kind, { lo: fmtNum(Number(lo), 0), hi: fmtNum(Number(hi), 0) }) : t(`${kind}_above`, { lo: fmtNum(Number(lo), 0) });
}

export function summaryCard(state, rec, app) {
  // How the industry was read: the server's match, or the word the page resolved.
  const found = rec.industry_match;
  const ind = state.industries.get(found?.industry ?? app.industry);
  const zone = state.catalog.climate_zones.find((z) => z.code === app.climate_zone);
  const typed = found && found.source === 'name' ? found.text : state.result.industryText;
  const readAs = ind && typed && !isIndustryName(state, typed);
  // A guess (the server's guess field: a broad word such as 工厂) is said to be one here
  // too, as on the form; never shown as if it had been read for sure.
  const guessed = readAs && found && found.source === 'name' && found.guess;
  const industryText = guessed ? t('industry_guessed_as', { text: typed, name: catName(ind) })
    : readAs ? t('industry_read_as', { text: typed, name: catName(ind) }) : catName(ind);
  const rows = [
    [t('label_industry'), ind ? industryText : app.industry],
    [t('label_climate'), zone ? catName(zone) : t('climate_unknown')],
    [t('label_area'), app.floor_area_m2 != null ? `${fmtNum(app.floor_area_m2)} m²` : '—'],
    [t('label_employees'), app.employees != null ? fmtNum(app.employees, 0) : '—'],
    [t('label_shifts'), app.shifts != null ? fmtNum(app.shifts, 0) : '—'],
    [t('equipment_lines'), t('rows_count', { n: app.equipment.length })],
    [t('installed_kw'), fmtKw(rec.installed_kw)],
    [t('standby_kw'), fmtKw(rec.standby_kw)],
    [t('basis'), t(`basis_${rec.basis}`, {}, rec.basis)],
  ];
  if (rec.existing) {
    rows.unshift([t('label_application_type'), t(`type_short_${rec.existing.application_type}`, {}, rec.existing.application_type)]);
  }
  return h('section', { class: 'card summary', 'aria-labelledby': 'summary-title' }, [
    h('h3', { id: 'summary-title', text: t('summary_title') }),
    h('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])),
  ]);
}

export function matchesCard(state, rec) {
  const rowIds = state.result.rowIds;
  const unmatched = rec.matches.filter((m) => m.source === 'unmatched' || m.source === 'assumed').length;
  return h('section', { class: 'card matches', 'aria-labelledby': 'matches-title' }, [
    h('h3', { id: 'matches-title', text: t('matches_title') }),
    h('p', { class: unmatched ? 'notice warn' : 'hint small', text: unmatched ? t('matches_unmatched', { n: unmatched }) : t('matches_all', { n: rec.matches.length }) }),
    tableWrap(h('table', { class: 'data', id: 'matches-table' }, [
      // Every line's figures too: the printed page is the equipment-list attachment.
      h('thead', {}, h('tr', {}, ['#', t('match_col_text'), t('match_col_category'), t('col_kw'), t('col_qty'), t('col_standby'), t('confidence'), t('match_col_how')].map((c, i) => h('th', { scope: 'col', class: [0, 3, 4, 6].includes(i) ? 'num' : '', text: c })))),
      h('tbody', {}, rec.matches.map((m) => {
        const cat = m.category ? state.categories.get(m.category) : null;
        const row = state.rows.find((r) => r.id === rowIds[m.index]);
        const un = m.source === 'unmatched' || m.source === 'assumed';
        return h('tr', { class: un ? 'unmatched' : '' }, [
          h('td', { class: 'num', text: String(m.index + 1) }),
          h('td', { text: m.text || '—' }),
          h('td', {}, un
            ? [h('span', { class: 'badge badge-alert', text: cat ? catName(cat) : t('unmatched') }), row ? [' ', h('button', { type: 'button', class: 'btn tiny no-print', text: t('btn_fix_row'), onclick: () => { row.refs.cat.focus(); row.refs.cat.scrollIntoView({ block: 'center' }); } })] : null].flat()
            : [cat ? catName(cat) : m.category]),
          ...lineFigures(state.result.app.equipment[m.index]),
          h('td', { class: 'num', text: un && !m.confidence ? '—' : fmtPct(m.confidence) }),
          h('td', { text: t(`match_source_${m.source}`) + (m.matched_alias ? ` · “${m.matched_alias}”` : '') }),
        ]);
      })),
    ]), t('matches_title')),
  ]);
}

/** kW, quantity and standby of one sent line, as table cells. */
function lineFigures(item) {
  const it = item || {};
  return [
    h('td', { class: 'num', text: typeof it.rated_kw === 'number' ? fmtNum(it.rated_kw, it.rated_kw < 10 ? 2 : 1) : '—' }),
    h('td', { class: 'num', text: String(it.quantity ?? 1) }),
    h('td', { text: it.standby ? t('yes_short') : '' }),
  ];
}

export function metaLine(rec) {
  // "capacity-recommender:v7" → "v7": the registry name is for the utility's systems.
  const version = String(rec.model_version || '').replace(/^.*:/, '') || '—';
  return h('p', { class: 'meta', id: 'model-meta', 'data-id': rec.id || '' }, [
    t('meta_line_plain', {
      version,
      source: rec.source === 'model' ? t('source_model') : t('source_fallback'),
      id: shortId(rec.id),
    }),
  ]);
}
