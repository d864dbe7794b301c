// Batch mode of the page: upload customers.csv (+ equipment.csv, + meter_readings.csv of
// existing customers) or one .xlsx workbook
// with both sheets, answer through POST /recommend_batch (the API path, CSV answer),
// show a sortable, paged table with the answer, the verdict on the applied capacity and
// the flags, and download the same answer as CSV (the server's bytes) or Excel
// (POST /export/batch converts the CSV; nothing is scored twice).
//
// Self-contained: it renders into <section id="batch"> and uses only csv.js, i18n.js and
// retry.js (the page's one rule for a shed answer).

import { parseCSV } from './csv.js';
import { t, applyI18n, onLangChange, fmtNum, fmtPct, getLang } from './i18n.js';
import { $, h } from './dom.js';
import { MAX_AUTO_RETRIES, sendWithRetry } from './retry.js';

const PAGE_SIZE = 100;

/** Columns shown (the CSV answer has more; the download keeps them all). */
const COLUMNS = [
  { key: 'customer_id', label: 'batch_col_customer', type: 'text' },
  { key: 'status', label: 'batch_col_status', type: 'status' },
  { key: 'recommended_kva', label: 'batch_col_recommended', type: 'num', digits: 0 },
  { key: 'predicted_peak_kw', label: 'batch_col_peak', type: 'num', digits: 1 },
  { key: 'p_appropriate', label: 'batch_col_p_ok', type: 'pct' },
  { key: 'applied_kva', label: 'batch_col_applied', type: 'num', digits: 0 },
  { key: 'applied_verdict', label: 'batch_col_verdict', type: 'verdict' },
  { key: 'applied_yearly_difference_yuan', label: 'batch_col_yearly_diff', type: 'num', digits: 0 },
  { key: 'supply_voltage', label: 'batch_col_voltage', type: 'text' },
  { key: 'monthly_capacity_charge_yuan', label: 'batch_col_charge', type: 'num', digits: 0 },
  { key: 'engineering_kva', label: 'batch_col_engineering', type: 'num', digits: 0 },
  { key: '_flags', label: 'batch_col_flags', type: 'flags' },
];

/** Existing customers' columns (增容 / 减容 / 暂停), shown when the batch has any. */
const EXISTING_COLUMNS = [
  { key: 'application_type', label: 'batch_col_type', type: 'type' },
  { key: 'existing_capacity_kva', label: 'batch_col_existing', type: 'num', digits: 0 },
  { key: 'measured_load_rate', label: 'batch_col_load_rate', type: 'pct' },
  { key: 'p_undersized_today', label: 'batch_col_risk_today', type: 'pct' },
  { key: 'yearly_difference_yuan', label: 'batch_col_existing_diff', type: 'num', digits: 0 },
];

/** The columns of this answer: the existing customers' ones after p_appropriate, if any. */
function visibleColumns() {
  if (!state.rows.some((r) => r.existing_capacity_kva)) return COLUMNS;
  const at = COLUMNS.findIndex((c) => c.key === 'p_appropriate') + 1;
  return [...COLUMNS.slice(0, at), ...EXISTING_COLUMNS, ...COLUMNS.slice(at)];
}

const state = {
  header: [],
  rows: [],
  csvText: '',
  sortKey: null,
  sortDir: 1,
  page: 0,
  busy: false,
  lastMs: null,
  onlyRejected: false,
  rejectKind: '',
  rejectText: '',
};

/** Templates to download: the headers the server reads (Chinese or the contract's names). */
const TEMPLATES = {
  customers: {
    zh: '客户编号,行业,建筑面积,人数,班次,申请容量\nC001,饭店,800,20,2,\nC002,机加工,3000,80,2,630\n',
    en: 'customer_id,industry,floor_area_m2,employees,shifts,applied_capacity_kva\nC001,restaurant,800,20,2,\nC002,machinery,3000,80,2,630\n',
  },
  equipment: {
    zh: '客户编号,设备名称,额定功率,数量,备用\nC001,冰箱 300W,,2,\nC001,电磁炉,8,4,\nC002,数控车床 CK6140,7.5,12,\nC002,空压机 37kW 2台（1台备用）,,,\n',
    en: 'customer_id,name,rated_kw,quantity,standby\nC001,fridge 300W,,2,\nC001,induction hob,8,4,\nC002,CNC lathe,7.5,12,\nC002,air compressor 37kW,,2,\n',
  },
};

/** An answer from before issue 25: one row per rejected line, 'rejected (equipment row 5)'. */
const OLD_STATUS = /^rejected \((customers|equipment) row (\d+)\)$/;

/**
 * The rows of the files of a rejected customer, from the CSV answer's `source_rows`
 * ('customers 6; equipment 6-7, 9', serving/batch_rejects.py rows_text).
 */
export function parseSourceRows(text) {
  const out = {};
  for (const part of String(text || '').split(';')) {
    const m = /^\s*(\S+)\s+(.+)$/.exec(part);
    if (!m) continue;
    const numbers = [];
    for (const span of m[2].split(',')) {
      const r = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(span);
      if (!r) return {};
      for (let k = Number(r[1]); k <= Number(r[2] ?? r[1]); k += 1) numbers.push(k);
    }
    if (numbers.length) out[m[1]] = numbers;
  }
  return out;
}

/** [5, 6, 7, 9] → ['5–7', '9']. */
function spans(rows) {
  const out = [];
  let start = null;
  let prev = null;
  for (const r of rows) {
    if (prev !== null && r === prev + 1) { prev = r; continue; }
    if (start !== null) out.push(start === prev ? String(start) : `${start}–${prev}`);
    start = r;
    prev = r;
  }
  if (start !== null) out.push(start === prev ? String(start) : `${start}–${prev}`);
  return out;
}

/** '客户表第 6 行；设备表第 6–7、9 行' (serving/batch_rejects.py rows_words). */
export function rowsWords(rows) {
  return Object.entries(rows)
    .filter(([, numbers]) => numbers.length)
    .map(([file, numbers]) => t('reject_rows_one', {
      file: t(`reject_file_${file}`, {}, file),
      rows: spans(numbers).join(t('reject_rows_list_sep')),
      n: numbers.length,
    }))
    .join(t('reject_rows_sep'));
}

/** The suggested code of an 'unknown code' reason in words (the catalog's name). */
function suggestionName(p) {
  const cat = window.capacityPage?.catalog;
  const code = p.suggestion;
  if (!code || !cat) return code || '';
  if (p.column === 'industry') {
    const ind = cat.industries.find((i) => i.code === code);
    if (ind) return getLang() === 'zh' ? ind.name_zh : ind.name_en.toLowerCase();
  }
  if (p.column === 'category') {
    const c = cat.categories.find((x) => x.code === code);
    if (c) return getLang() === 'zh' ? c.name_zh : c.name_en;
  }
  return code;
}

/** One reason of a rejected customer in the page's language, after the rows it names. */
export function reasonText(reason) {
  const params = reason.params || {};
  const column = String(params.column ?? reason.column ?? '');
  const text = t(reason.code, {
    ...params,
    value: reason.value ?? '',
    col: t(`reject_col_${column}`, {}, column),
    sugg: suggestionName(params),
  }, String(reason.code));
  const rows = reason.rows || [];
  return rows.length ? `${rowsWords({ [reason.file]: rows })}${t('reject_colon')}${text}` : text;
}

/** The rejected customer of a CSV answer row: its rows of the files and its reasons. */
function rejectOf(row) {
  const old = OLD_STATUS.exec(String(row.status || ''));
  let reasons;
  try { reasons = JSON.parse(row.reject_reasons || '[]'); } catch { reasons = []; }
  if (!Array.isArray(reasons)) reasons = [];
  const rows = old ? { [old[1]]: [Number(old[2])] } : parseSourceRows(row.source_rows);
  return { id: row.customer_id || '', rows, reasons, english: row.reason || '' };
}

/** How many rows of the files a rejected customer had (1 when the answer names none). */
function linesOf(entry) {
  const n = Object.values(entry.rows).reduce((a, r) => a + r.length, 0);
  return n || 1;
}

/** Answered customers, rejected customers and their rows of the files. */
export function rejectSummary(rows) {
  let rejected = 0;
  let lines = 0;
  for (const r of rows) {
    if (r.status === 'ok') continue;
    rejected += 1;
    lines += linesOf(rejectOf(r));
  }
  const answered = new Set(rows.filter((r) => r.status === 'ok').map((r) => r.customer_id));
  return { answered: answered.size, rejectedCustomers: rejected, rejectedRows: lines };
}

/** The reasons of a rejected row in the page's language (the server's English if none). */
function reasonsOf(entry) {
  if (!entry.reasons.length) return entry.english ? [entry.english] : [];
  return entry.reasons.map(reasonText);
}

/** '已拒绝（客户表第 6 行；设备表第 6–7 行）'. */
function statusText(v, row) {
  if (v === 'ok') return t('batch_status_ok');
  const rows = rejectOf(row).rows;
  if (Object.keys(rows).length) return t('batch_status_rejected_rows', { rows: rowsWords(rows) });
  return t('batch_status_rejected');
}


function flagsOf(row) {
  const out = [];
  if (row.incomplete_list === 'True') out.push(t('batch_flag_incomplete'));
  if (row.manual_review === 'True') out.push(t('batch_flag_review'));
  if (row.clamped === 'True') out.push(t('batch_flag_clamped'));
  if (row.unmatched_lines && row.unmatched_lines !== '0') out.push(t('batch_flag_unmatched', { n: row.unmatched_lines }));
  if (row.flags) for (const f of row.flags.split(';')) if (f) out.push(f);
  if (row.status !== 'ok') out.push(...reasonsOf(rejectOf(row)));
  return out;
}

function cellText(col, row) {
  const v = row[col.key];
  switch (col.type) {
    case 'num': return v === '' || v === undefined ? '' : fmtNum(Number(v), col.digits);
    case 'pct': return v === '' || v === undefined ? '' : fmtPct(Number(v));
    case 'verdict': return v ? t(`verdict_${v}`) : '';
    case 'type': return v && v !== 'new' ? t(`type_short_${v}`, {}, v) : '';
    case 'status': return statusText(v, row);
    case 'flags': return flagsOf(row).join('；');
    default: return v ?? '';
  }
}

function sortValue(col, row) {
  if (col.type === 'flags') return flagsOf(row).length;
  const v = row[col.key];
  if (col.type === 'num' || col.type === 'pct') return v === '' || v === undefined ? Number.NEGATIVE_INFINITY : Number(v);
  return String(v ?? '');
}

function sortedRows() {
  const base = state.onlyRejected ? state.rows.filter((r) => r.status !== 'ok') : state.rows;
  if (!state.sortKey) return base;
  const col = visibleColumns().find((c) => c.key === state.sortKey);
  const dir = state.sortDir;
  return base
    .map((row, i) => [sortValue(col, row), i, row])
    .sort((a, b) => (a[0] < b[0] ? -dir : a[0] > b[0] ? dir : a[1] - b[1]))
    .map((x) => x[2]);
}

function setStatus(text, isError = false) {
  const el = $('#batch-status');
  el.textContent = text;
  el.classList.toggle('error', isError);
}

function renderTable() {
  const host = $('#batch-result');
  if (!state.rows.length) { host.replaceChildren(); return; }
  const rows = sortedRows();
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
  const start = state.page * PAGE_SIZE;
  const shown = rows.slice(start, start + PAGE_SIZE);
  const sum = rejectSummary(state.rows);
  const columns = visibleColumns();
  const head = h('tr', {}, columns.map((col) => {
    const sorted = state.sortKey === col.key;
    return h('th', {
      scope: 'col',
      class: col.type === 'num' || col.type === 'pct' ? 'num' : '',
      'aria-sort': sorted ? (state.sortDir > 0 ? 'ascending' : 'descending') : 'none',
    }, h('button', {
      type: 'button',
      class: 'sort-btn',
      'data-key': col.key,
      text: `${t(col.label)}${sorted ? (state.sortDir > 0 ? ' ▲' : ' ▼') : ''}`,
      onclick: () => {
        if (state.sortKey === col.key) state.sortDir = -state.sortDir;
        else { state.sortKey = col.key; state.sortDir = 1; }
        state.page = 0;
        renderTable();
        $(`#batch-table button[data-key="${col.key}"]`)?.focus();
      },
    }));
  }));
  const body = shown.map((row) => h('tr', { class: row.status === 'ok' ? '' : 'rejected', title: row.reason || null },
    columns.map((col) => h('td', { class: col.type === 'num' || col.type === 'pct' ? 'num' : '', text: cellText(col, row) }))));
  const table = h('table', { class: 'data batch-table', id: 'batch-table' }, [
    h('caption', { text: t('batch_caption_customers', { answered: sum.answered, rejected: sum.rejectedCustomers, rows: sum.rejectedRows }) }),
    h('thead', {}, head),
    h('tbody', {}, body),
  ]);
  const pager = h('div', { class: 'batch-pager' }, [
    h('button', { type: 'button', class: 'btn ghost', id: 'batch-prev', disabled: state.page === 0, text: t('batch_prev'), onclick: () => { state.page -= 1; renderTable(); } }),
    h('span', { id: 'batch-page', text: t('batch_page', { page: state.page + 1, pages, from: start + 1, to: start + shown.length, n: rows.length }) }),
    h('button', { type: 'button', class: 'btn ghost', id: 'batch-next', disabled: state.page >= pages - 1, text: t('batch_next'), onclick: () => { state.page += 1; renderTable(); } }),
  ]);
  const langSelect = h('select', { id: 'batch-download-lang', 'aria-label': t('batch_download_lang') }, [
    h('option', { value: 'page', text: t('batch_download_lang_page') }),
    h('option', { value: 'codes', text: t('batch_download_lang_codes') }),
  ]);
  langSelect.value = state.downloadLang || 'page';
  langSelect.addEventListener('change', () => { state.downloadLang = langSelect.value; });
  const filter = h('label', { class: 'batch-filter' }, [
    h('input', { type: 'checkbox', id: 'batch-only-rejected', checked: state.onlyRejected || null, onchange: (ev) => { state.onlyRejected = ev.target.checked; state.page = 0; renderTable(); } }),
    ` ${t('batch_only_rejected')}`,
  ]);
  const downloads = h('div', { class: 'batch-downloads' }, [
    h('button', { type: 'button', class: 'btn secondary', id: 'batch-download-csv', text: t('batch_download_csv'), onclick: downloadCsv }),
    h('button', { type: 'button', class: 'btn secondary', id: 'batch-download-xlsx', text: t('batch_download_xlsx'), onclick: downloadXlsx }),
    h('label', { for: 'batch-download-lang', class: 'hint small', text: t('batch_download_lang') }), langSelect,
    sum.rejectedRows ? filter : null,
  ]);
  const rejects = rejectsSection();
  host.replaceChildren(downloads, h('div', { class: 'table-wrap' }, table), pager, ...(rejects ? [rejects] : []));
}

/** The rejected customers, their rows and reasons in the page's language. */
function rejectEntries() {
  return state.rows.filter((r) => r.status !== 'ok').map((r) => {
    const entry = rejectOf(r);
    const texts = reasonsOf(entry);
    const where = rowsWords(entry.rows);
    return { ...entry, texts, where, haystack: `${entry.id} ${where} ${texts.join(' ')}`.toLowerCase() };
  });
}

/** The entries the reason and text filters keep. */
function filteredRejects(entries) {
  const text = state.rejectText.trim().toLowerCase();
  return entries.filter((e) => (!state.rejectKind || e.reasons.some((r) => r.code === state.rejectKind))
    && (!text || e.haystack.includes(text)));
}

function rejectRowsOf(entries) {
  if (!entries.length) {
    return [h('tr', {}, h('td', { colspan: 3, class: 'hint', text: t('batch_rejects_none_match') }))];
  }
  return entries.map((e) => h('tr', { 'data-customer': e.id }, [
    h('td', { text: e.id || t('batch_rejects_no_id') }),
    h('td', { text: e.where }),
    h('td', {}, h('ul', { class: 'reject-reasons' }, e.texts.map((x) => h('li', { text: x })))),
  ]));
}

function rejectsSection() {
  const entries = rejectEntries();
  if (!entries.length) return null;
  const sum = rejectSummary(state.rows);
  const counts = new Map();
  for (const e of entries) for (const code of new Set(e.reasons.map((r) => r.code))) counts.set(code, (counts.get(code) || 0) + 1);
  if (state.rejectKind && !counts.has(state.rejectKind)) state.rejectKind = '';
  const kind = h('select', { id: 'batch-reject-kind' }, [
    h('option', { value: '', text: t('batch_rejects_filter_all') }),
    ...[...counts].map(([code, n]) => h('option', {
      value: code,
      text: `${t(`reject_kind_${String(code).replace(/^reject_/, '')}`, {}, code)} (${n})`,
    })),
  ]);
  kind.value = state.rejectKind;
  const search = h('input', {
    type: 'search', id: 'batch-reject-search', value: state.rejectText,
    placeholder: t('batch_rejects_filter_placeholder'),
  });
  const body = h('tbody', {}, []);
  const shown = h('span', { id: 'batch-rejects-shown', class: 'hint small', 'aria-live': 'polite' });
  const update = () => {
    const kept = filteredRejects(entries);
    body.replaceChildren(...rejectRowsOf(kept));
    shown.textContent = t('batch_rejects_shown', { shown: kept.length, n: entries.length });
  };
  kind.addEventListener('change', () => { state.rejectKind = kind.value; update(); });
  search.addEventListener('input', () => { state.rejectText = search.value; update(); });
  update();
  return h('section', { id: 'batch-rejects', class: 'batch-rejects', 'aria-labelledby': 'batch-rejects-title' }, [
    h('h3', { id: 'batch-rejects-title', text: t('batch_rejects_title') }),
    h('p', { id: 'batch-rejects-caption', text: t('batch_rejects_caption', { customers: sum.rejectedCustomers, rows: sum.rejectedRows }) }),
    h('div', { class: 'batch-filter' }, [
      h('label', { for: 'batch-reject-kind', text: t('batch_rejects_filter_kind') }), kind, ' ',
      h('label', { for: 'batch-reject-search', text: t('batch_rejects_filter_text') }), search, ' ',
      shown, ' ',
      h('button', { type: 'button', class: 'btn secondary', id: 'batch-download-rejects', text: t('batch_download_rejects'), onclick: () => convert('csv', 'rejected') }),
    ]),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'batch-rejects-table' }, [
      h('thead', {}, h('tr', {}, ['batch_rejects_col_customer', 'batch_rejects_col_rows', 'batch_rejects_col_reasons'].map((k) => h('th', { scope: 'col', text: t(k) })))),
      body,
    ])),
  ]);
}

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** 'zh' / 'en' (headers and values for people) or 'codes' (the API's names). */
function downloadLang() {
  return (state.downloadLang || 'page') === 'codes' ? 'codes' : getLang();
}

async function downloadCsv() {
  if (downloadLang() === 'codes') {
    save(new Blob(['\uFEFF', state.csvText], { type: 'text/csv;charset=utf-8' }), 'recommendations.csv');
    return;
  }
  await convert('csv');
}

function downloadXlsx() {
  return convert('xlsx');
}

/**
 * The answer relabelled by the server (/export/batch: one labelling for both formats);
 * `rows` 'rejected' is the reject report (rejected customers, rows and reasons).
 */
async function convert(format, rows = 'all') {
  setStatus(t('batch_converting'));
  try {
    const r = await post('/export/batch', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ csv: state.csvText, format, lang: downloadLang(), rows }),
    });
    save(await r.blob(), `${rows === 'rejected' ? 'rejects' : 'recommendations'}.${format}`);
    setStatus(t('batch_done', { n: state.rows.length, s: fmtNum(state.lastMs / 1000, 1) }));
  } catch (err) {
    setStatus(t('batch_error', { detail: String(err.message || err) }), true);
  }
}

/**
 * POST through the page's one retry rule (a shed answer is sent again after its
 * Retry-After); busy and not-ready said in the page's language, never the server's text.
 */
async function post(url, init) {
  const { resp, failure } = await sendWithRetry(() => fetch(url, { method: 'POST', ...init }), {
    onWait: (s, k, max) => setStatus(t('status_busy_retrying', { s, k, max })),
  });
  if (failure === 'busy') throw new Error(t('batch_busy_gave_up', { n: MAX_AUTO_RETRIES }));
  if (failure === 'not_ready') throw new Error(t('err_not_ready'));
  if (!resp.ok) throw new Error(await errorText(resp));
  return resp;
}

async function errorText(r) {
  try {
    const body = await r.json();
    if (Array.isArray(body.errors)) {
      return body.errors.map((e) => `${e.field ?? ''}: ${e.message}${e.expected ? ` (${t('batch_expected')} ${e.expected})` : ''}`).join('; ');
    }
  } catch { /* not JSON */ }
  return t('err_http', { status: r.status });
}

async function onSubmit(ev) {
  ev.preventDefault();
  if (state.busy) return;
  const cust = $('#batch-customers').files[0];
  const equip = $('#batch-equipment').files[0];
  const meter = $('#batch-meter').files[0];
  const book = $('#batch-workbook').files[0];
  if (!cust && !book) { setStatus(t('batch_need_file'), true); $('#batch-customers').focus(); return; }
  if (book && (cust || equip || meter)) { setStatus(t('batch_one_kind'), true); return; }
  const form = new FormData();
  if (book) form.append('workbook', book, book.name);
  else {
    form.append('customers', cust, cust.name);
    if (equip) form.append('equipment', equip, equip.name);
    if (meter) form.append('meter_readings', meter, meter.name);
  }
  form.append('output', 'csv');
  state.busy = true;
  $('#batch-submit').disabled = true;
  setStatus(t('batch_working'));
  const t0 = performance.now();
  try {
    const r = await post('/recommend_batch', { body: form });
    state.csvText = (await r.text()).replace(/^\uFEFF/, '');
    const parsed = parseCSV(state.csvText, ',');
    state.header = parsed[0] || [];
    state.rows = parsed.slice(1).map((cells) => Object.fromEntries(state.header.map((k, i) => [k, cells[i] ?? ''])));
    state.sortKey = null;
    state.page = 0;
    renderTable();
    state.lastMs = performance.now() - t0;
    setStatus(t('batch_done', { n: state.rows.length, s: fmtNum(state.lastMs / 1000, 1) }));
    document.body.dataset.batchMs = String(Math.round(state.lastMs));
  } catch (err) {
    setStatus(t('batch_error', { detail: String(err.message || err) }), true);
  } finally {
    state.busy = false;
    $('#batch-submit').disabled = false;
  }
}

function saveTemplate(kind) {
  const text = TEMPLATES[kind][getLang() === 'zh' ? 'zh' : 'en'];
  save(new Blob(['\uFEFF', text], { type: 'text/csv;charset=utf-8' }), `${kind}_template.csv`);
}

function fileName(input, target) {
  input.addEventListener('change', () => { $(target).textContent = input.files[0]?.name || t('no_file'); });
}

function mount() {
  const host = $('#batch');
  if (!host) return;
  const picker = (id, key, accept) => h('div', { class: 'file-picker' }, [
    h('input', { type: 'file', id, class: 'file-input', accept, 'aria-describedby': 'batch-help' }),
    h('label', { for: id, class: 'btn secondary file-button', 'data-i18n': key, text: t(key) }),
    h('span', { id: `${id}-name`, class: 'hint small', 'data-i18n': 'no_file', text: t('no_file') }),
  ]);
  const form = h('form', { id: 'batch-form', novalidate: true, onsubmit: onSubmit }, [
    picker('batch-customers', 'batch_pick_customers', '.csv,text/csv'),
    picker('batch-equipment', 'batch_pick_equipment', '.csv,text/csv'),
    picker('batch-meter', 'batch_pick_meter', '.csv,text/csv'),
    h('p', { class: 'hint small', 'data-i18n': 'batch_or', text: t('batch_or') }),
    picker('batch-workbook', 'batch_pick_workbook', '.xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', id: 'batch-submit', class: 'btn primary', 'data-i18n': 'batch_submit', text: t('batch_submit') })),
  ]);
  host.replaceChildren(
    h('h2', { id: 'batch-title', 'data-i18n': 'batch_title', text: t('batch_title') }),
    h('p', { id: 'batch-help', class: 'hint', 'data-i18n': 'batch_help', text: t('batch_help') }),
    h('p', { class: 'batch-templates' }, [
      h('span', { 'data-i18n': 'batch_templates', text: t('batch_templates') }), ' ',
      h('button', { type: 'button', class: 'btn tiny', id: 'batch-template-customers', 'data-i18n': 'batch_template_customers', text: t('batch_template_customers'), onclick: () => saveTemplate('customers') }), ' ',
      h('button', { type: 'button', class: 'btn tiny', id: 'batch-template-equipment', 'data-i18n': 'batch_template_equipment', text: t('batch_template_equipment'), onclick: () => saveTemplate('equipment') }),
    ]),
    form,
    h('p', { id: 'batch-status', class: 'status', role: 'status', 'aria-live': 'polite' }),
    h('div', { id: 'batch-result' }),
  );
  fileName($('#batch-customers'), '#batch-customers-name');
  fileName($('#batch-equipment'), '#batch-equipment-name');
  fileName($('#batch-meter'), '#batch-meter-name');
  fileName($('#batch-workbook'), '#batch-workbook-name');
  onLangChange(() => { applyI18n(host); renderTable(); });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount);
else mount();
