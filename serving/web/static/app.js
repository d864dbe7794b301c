// The application page: form, equipment editor, calls to /recommend and /check, and the
// rendering of the answer. Plain ES module, no framework.

import { t, getLang, setLang, applyI18n, fmtNum, fmtFixed, fmtPct, fmtKva, fmtKw, fmtYuan, catName, onLangChange } from './i18n.js';
import { decodeFile, parseCSV, tableToEquipment, pastedToEquipment, parseNumber } from './csv.js';
import { tierChart, driversChart, peerChart, intervalChart, probBar } from './charts.js';
import { designOptions } from './design.js';

/** Names below this confidence are left out by the server (RecommenderConfig.min_match_confidence). */
const MIN_MATCH_CONFIDENCE = 0.5;
const MATCH_DEBOUNCE_MS = 300;
const MAX_DRIVERS = 10;
const LIMITS = {
  floor_area_m2: 10_000_000, employees: 1_000_000, rated_kw: 100_000, quantity: 10_000, proposed_kva: 1_000_000,
};

const $ = (sel, root = document) => root.querySelector(sel);

const state = {
  catalog: null,
  industries: new Map(),
  categories: new Map(),
  rows: [], // {id, el, refs, match, matchState, seq, timer}
  nextId: 1,
  mode: 'customer',
  result: null, // {kind: 'recommend'|'check', data, app, rowIds, at}
  errors: [], // [{target, message: () => string}]
  submitIndexToRow: [],
  serverChecksOnly: new URLSearchParams(location.search).get('checks') === 'server',
  busy: false,
  chartJobs: [],
  importNotes: null,
};

// Exposed for debugging and tests.
window.capacityPage = state;

// ---------------------------------------------------------------------------------------
// Small DOM helpers

function h(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of [].concat(children)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** The status line (aria-live); `msg` may be a function so that it follows the language. */
function setStatus(msg) {
  state.status = typeof msg === 'function' ? msg : () => msg;
  $('#status').textContent = state.status();
}

// ---------------------------------------------------------------------------------------
// Catalog and static pickers

async function loadCatalog() {
  try {
    const r = await fetch('/api/catalog', { headers: { accept: 'application/json' } });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    state.catalog = await r.json();
  } catch (err) {
    const box = $('#load-error');
    box.hidden = false;
    box.replaceChildren(
      t('err_catalog', { detail: String(err.message || err) }), ' ',
      h('button', { type: 'button', class: 'btn secondary', text: t('btn_retry'), onclick: () => location.reload() }),
    );
    return false;
  }
  for (const i of state.catalog.industries) state.industries.set(i.code, i);
  for (const c of state.catalog.categories) state.categories.set(c.code, c);
  return true;
}

function renderPickers() {
  const cat = state.catalog;
  // Industry datalist: value in the current language; label = the other language + code.
  const other = getLang() === 'zh' ? 'name_en' : 'name_zh';
  $('#industry-list').replaceChildren(...cat.industries.map((i) => h('option', { value: catName(i), label: `${i[other]} · ${i.code}` })));
  const zone = $('#climate_zone');
  const zv = zone.value;
  zone.replaceChildren(h('option', { value: '', text: t('climate_unknown') }), ...cat.climate_zones.map((z) => h('option', { value: z.code, text: catName(z) })));
  zone.value = zv;
  $('#series-list').replaceChildren(...cat.standard_series_kva.map((k) => h('option', { value: String(k) })));
  const add = $('#add-category');
  const av = add.value;
  add.replaceChildren(...categoryOptions(false));
  add.value = av || cat.categories[0].code;
  renderExampleButtons();
  for (const row of state.rows) refreshRowLanguage(row);
  // Keep the chosen industry, shown in the new language.
  const code = resolveIndustry($('#industry').value);
  if (code) $('#industry').value = catName(state.industries.get(code));
  updateIndustryHint();
}

function categoryOptions(withAuto) {
  const opts = state.catalog.categories.map((c) => h('option', { value: c.code, text: catName(c) }));
  if (withAuto) opts.unshift(h('option', { value: '', text: t('cat_auto') }));
  return opts;
}

function renderExampleButtons() {
  const box = $('#example-buttons');
  box.replaceChildren(...Object.keys(state.catalog.examples).map((key) => h('button', {
    type: 'button', class: 'btn small secondary', 'data-example': key,
    text: t(`example_${key}`, {}, key.replace(/_/g, ' ')), onclick: () => loadExample(key),
  })));
}

function resolveIndustry(text) {
  const s = String(text || '').trim();
  if (!s) return null;
  const low = s.toLowerCase();
  const m = s.match(/[（(]\s*([a-z_]+)\s*[)）]\s*$/i) || s.match(/·\s*([a-z_]+)\s*$/i);
  if (m && state.industries.has(m[1].toLowerCase())) return m[1].toLowerCase();
  for (const i of state.industries.values()) {
    if (i.code === low || i.name_zh === s || i.name_en.toLowerCase() === low) return i.code;
  }
  // A fragment that belongs to exactly one industry ("办公", "hotel") is taken as that one;
  // the hint under the field shows which, before anything is sent.
  if (s.length >= 2) {
    const hits = [...state.industries.values()].filter((i) => i.name_zh.includes(s) || i.name_en.toLowerCase().includes(low));
    if (hits.length === 1) return hits[0].code;
  }
  return null;
}

function updateIndustryHint() {
  const hint = $('#industry-hint');
  const code = resolveIndustry($('#industry').value);
  if (code) {
    const i = state.industries.get(code);
    const other = getLang() === 'zh' ? i.name_en : i.name_zh;
    hint.textContent = `✓ ${other} · ${code}`;
    hint.className = 'hint small ok';
  } else if ($('#industry').value.trim()) {
    hint.textContent = t('hint_industry_pick');
    hint.className = 'hint small';
  } else {
    hint.textContent = t('hint_industry_count', { n: state.industries.size });
    hint.className = 'hint small';
  }
}

// ---------------------------------------------------------------------------------------
// Equipment rows

function addRow(item = {}, { focus = null, match = true } = {}) {
  const max = state.catalog.max_equipment_lines;
  if (state.rows.length >= max) {
    setImportStatus(() => t('err_too_many_rows', { max }), true);
    return null;
  }
  const id = state.nextId++;
  const p = `eq-${id}`;
  const refs = {};
  const err = (part) => h('div', { id: `${p}-${part}-error`, class: 'field-error', hidden: true });
  refs.idx = h('span', { class: 'eq-idx', id: `${p}-title` });
  refs.nameLabel = h('label', { for: `${p}-name`, class: 'cell-label' });
  refs.name = h('input', {
    id: `${p}-name`, class: 'eq-name-input', autocomplete: 'off', maxlength: 200,
    'aria-describedby': `${p}-match ${p}-name-error`,
  });
  refs.match = h('div', { id: `${p}-match`, class: 'eq-match', 'aria-live': 'polite' });
  refs.catLabel = h('label', { for: `${p}-cat`, class: 'cell-label' });
  refs.cat = h('select', { id: `${p}-cat`, 'aria-describedby': `${p}-cat-error` }, categoryOptions(true));
  refs.kwLabel = h('label', { for: `${p}-kw`, class: 'cell-label' });
  refs.kw = h('input', { id: `${p}-kw`, inputmode: 'decimal', autocomplete: 'off', 'aria-describedby': `${p}-kw-error` });
  refs.qtyLabel = h('label', { for: `${p}-qty`, class: 'cell-label' });
  refs.qty = h('input', { id: `${p}-qty`, inputmode: 'numeric', autocomplete: 'off', 'aria-describedby': `${p}-qty-error` });
  refs.standby = h('input', { id: `${p}-standby`, type: 'checkbox' });
  refs.standbyLabel = h('label', { for: `${p}-standby` });
  refs.remove = h('button', { type: 'button', class: 'btn ghost remove' });
  const el = h('div', { class: 'eq-row', role: 'group', 'aria-labelledby': `${p}-title`, 'data-row-id': id }, [
    refs.idx,
    h('div', { class: 'eq-cell eq-name' }, [refs.nameLabel, refs.name, refs.match, err('name')]),
    h('div', { class: 'eq-cell eq-cat' }, [refs.catLabel, refs.cat, err('cat')]),
    h('div', { class: 'eq-cell eq-kw' }, [refs.kwLabel, refs.kw, err('kw')]),
    h('div', { class: 'eq-cell eq-qty' }, [refs.qtyLabel, refs.qty, err('qty')]),
    h('div', { class: 'eq-cell eq-standby' }, [refs.standby, refs.standbyLabel]),
    h('div', { class: 'eq-cell eq-remove' }, [refs.remove]),
  ]);
  const row = { id, el, refs, match: null, matchState: 'idle', seq: 0, timer: null, matchedText: null };
  refs.name.value = item.name ?? '';
  refs.cat.value = item.category && state.categories.has(item.category) ? item.category : '';
  refs.kw.value = item.rated_kw ?? '';
  refs.qty.value = item.quantity ?? '1';
  refs.standby.checked = Boolean(item.standby);
  refs.name.addEventListener('input', () => scheduleMatch(row));
  refs.kw.addEventListener('change', () => { if (!refs.cat.value && refs.name.value.trim()) scheduleMatch(row, 0); });
  refs.cat.addEventListener('change', () => renderMatch(row));
  refs.remove.addEventListener('click', () => removeRow(row));
  state.rows.push(row);
  $('#eq-rows').append(el);
  refreshRowLanguage(row);
  renumberRows();
  if (match && refs.name.value.trim() && !refs.cat.value) scheduleMatch(row, 0);
  else renderMatch(row);
  if (focus) refs[focus].focus();
  return row;
}

function removeRow(row) {
  const i = state.rows.indexOf(row);
  if (i < 0) return;
  clearTimeout(row.timer);
  row.el.remove();
  state.rows.splice(i, 1);
  renumberRows();
  markStale();
  // Keep the keyboard user in the list: focus the next row's remove button, else the add button.
  const next = state.rows[i] || state.rows[i - 1];
  (next ? next.refs.remove : $('#add-row')).focus();
  setImportStatus(() => t('row_removed', { n: i + 1 }));
}

function renumberRows() {
  state.rows.forEach((row, i) => {
    row.el.dataset.index = String(i);
    row.refs.idx.textContent = String(i + 1);
    row.refs.idx.setAttribute('aria-label', t('row_n', { n: i + 1 }));
    row.refs.remove.setAttribute('aria-label', t('remove_row_n', { n: i + 1 }));
  });
  const n = state.rows.length;
  $('#eq-count').textContent = n ? t('rows_count', { n }) : '';
  $('#eq-empty').hidden = n > 0;
  document.querySelector('.eq-head').hidden = n === 0;
}

function refreshRowLanguage(row) {
  const r = row.refs;
  r.nameLabel.textContent = t('col_name');
  r.name.placeholder = t('ph_eq_name');
  r.catLabel.textContent = t('col_category');
  const v = r.cat.value;
  r.cat.replaceChildren(...categoryOptions(true));
  r.cat.value = v;
  r.kwLabel.textContent = t('col_kw');
  r.kw.placeholder = t('ph_kw');
  r.qtyLabel.textContent = t('col_qty');
  r.standbyLabel.textContent = t('col_standby');
  r.remove.textContent = t('btn_remove');
  renderMatch(row);
}

function scheduleMatch(row, delay = MATCH_DEBOUNCE_MS) {
  clearTimeout(row.timer);
  const text = row.refs.name.value.trim();
  row.seq += 1;
  if (!text) {
    row.match = null;
    row.matchState = 'idle';
    renderMatch(row);
    return;
  }
  if (text.length > 200) {
    row.matchState = 'toolong';
    renderMatch(row);
    return;
  }
  row.matchState = 'pending';
  renderMatch(row);
  const seq = row.seq;
  row.timer = setTimeout(async () => {
    const kw = parseNumber(row.refs.kw.value);
    const qs = new URLSearchParams({ text });
    if (typeof kw === 'number' && Number.isFinite(kw) && kw > 0) qs.set('rated_kw', String(kw));
    try {
      const r = await fetch(`/api/match?${qs}`, { headers: { accept: 'application/json' } });
      const body = await r.json();
      if (seq !== row.seq) return; // a newer keystroke is on its way
      if (!r.ok) throw new Error(body?.errors?.[0]?.message || `HTTP ${r.status}`);
      row.match = body;
      row.matchedText = text;
      row.matchState = 'done';
    } catch {
      if (seq !== row.seq) return;
      row.matchState = 'error';
    }
    renderMatch(row);
  }, delay);
}

function renderMatch(row) {
  const box = row.refs.match;
  const chosen = row.refs.cat.value;
  const m = row.match;
  box.className = 'eq-match';
  const parts = [];
  if (row.matchState === 'pending') {
    parts.push(h('span', { class: 'muted', text: t('match_pending') }));
  } else if (row.matchState === 'error') {
    parts.push(h('span', { class: 'muted', text: t('match_error') }));
  } else if (row.matchState === 'toolong') {
    box.classList.add('warn');
    parts.push(t('match_too_long'));
  } else if (row.matchState === 'done' && m) {
    const cat = m.category ? state.categories.get(m.category) : null;
    const conf = fmtPct(m.confidence);
    if (chosen) {
      if (cat && m.category !== chosen) {
        parts.push(h('span', { class: 'muted', text: t('match_overridden', { name: catName(cat), conf }) }));
      } else if (cat) {
        parts.push(h('span', { class: 'ok', text: `✓ ${t('match_agrees', { conf })}` }));
      }
    } else if (cat && m.confidence >= MIN_MATCH_CONFIDENCE) {
      box.classList.add('suggest');
      parts.push(h('span', {}, [t('match_auto'), ' ', h('strong', { text: catName(cat) }), ` · ${t('confidence')} ${conf}`]));
      if (m.rated_kw_hint && !row.refs.kw.value.trim()) parts.push(h('span', { class: 'muted', text: ` ${t('match_kw_hint', { kw: fmtNum(m.rated_kw_hint) })}` }));
      parts.push(' ', h('button', { type: 'button', class: 'btn tiny', text: t('btn_accept'), 'aria-label': t('btn_accept_aria', { name: catName(cat), n: rowNumber(row) }), onclick: () => acceptMatch(row) }));
    } else if (cat) {
      box.classList.add('warn');
      parts.push(h('span', {}, [t('match_low', { name: catName(cat), conf })]));
      parts.push(' ', h('button', { type: 'button', class: 'btn tiny', text: t('btn_accept'), 'aria-label': t('btn_accept_aria', { name: catName(cat), n: rowNumber(row) }), onclick: () => acceptMatch(row) }));
    } else {
      box.classList.add('warn');
      parts.push(t('match_none'));
    }
  }
  box.replaceChildren(...parts);
  box.hidden = parts.length === 0;
}

function rowNumber(row) {
  return state.rows.indexOf(row) + 1;
}

function acceptMatch(row) {
  const m = row.match;
  if (!m || !m.category) return;
  row.refs.cat.value = m.category;
  if (m.rated_kw_hint && !row.refs.kw.value.trim()) row.refs.kw.value = String(m.rated_kw_hint);
  markStale();
  renderMatch(row);
  row.refs.cat.focus();
}

function clearRows() {
  for (const row of state.rows) { clearTimeout(row.timer); row.el.remove(); }
  state.rows = [];
  renumberRows();
}

/** The import/list status line; `msg` may be a function so that it follows the language. */
function setImportStatus(msg, isError = false) {
  state.importStatus = { fn: typeof msg === 'function' ? msg : () => msg, isError };
  const el = $('#import-status');
  el.textContent = state.importStatus.fn();
  el.classList.toggle('error-text', isError);
}

function importItems(result, source, extra = [], filledInPlace = 0) {
  const { items, notes, customers } = result;
  let list = items;
  const msgs = []; // [key, params]
  if (customers && customers.length > 1) {
    list = items.filter((it) => it.customer_id === customers[0]);
    msgs.push(['import_many_customers', { n: customers.length, id: customers[0] }]);
  }
  const room = state.catalog.max_equipment_lines - state.rows.length;
  if (list.length > room) {
    msgs.push(['import_truncated', { n: list.length - room, max: state.catalog.max_equipment_lines }]);
    list = list.slice(0, Math.max(0, room));
  }
  // A single untouched empty row is replaced rather than kept above the import.
  if (list.length && state.rows.length === 1 && rowIsEmpty(state.rows[0])) clearRows();
  for (const it of list) addRow(it, { match: true });
  for (const n of notes || []) msgs.push([n.key, n.params || {}]);
  const n = list.length;
  msgs.unshift(n ? ['import_added', { n: n + filledInPlace }] : ['import_nothing', {}]);
  if (n) msgs.push(...extra);
  setImportStatus(() => msgs.map(([key, params]) => t(key, { source: t(`source_${source}`), ...params })).join(' '), !n);
  if (n) markStale();
  return n;
}

function rowIsEmpty(row) {
  const r = row.refs;
  return !r.name.value.trim() && !r.cat.value && !r.kw.value.trim() && (r.qty.value.trim() === '1' || !r.qty.value.trim()) && !r.standby.checked;
}

async function onCsvFile(ev) {
  const file = ev.target.files && ev.target.files[0];
  if (!file) return;
  try {
    const { text, encoding } = await decodeFile(file);
    const rows = parseCSV(text);
    importItems(tableToEquipment(rows, state.catalog.categories), 'csv', [['import_encoding', { enc: encoding, file: file.name }]]);
  } catch (err) {
    const detail = String(err.message || err);
    setImportStatus(() => t('import_failed', { detail }), true);
  }
  $('#csv-file-name').textContent = file.name;
  $('#csv-file-name').removeAttribute('data-i18n');
  ev.target.value = '';
}

function onPasteAdd() {
  const area = $('#paste-area');
  if (!area.value.trim()) {
    setImportStatus(() => t('import_paste_empty'), true);
    area.focus();
    return;
  }
  if (importItems(pastedToEquipment(area.value, state.catalog.categories), 'paste')) area.value = '';
}

function onRowsPaste(ev) {
  const target = ev.target;
  if (!(target instanceof HTMLInputElement) || !target.classList.contains('eq-name-input')) return;
  const text = ev.clipboardData ? ev.clipboardData.getData('text/plain') : '';
  if (!text || !(text.includes('\t') || /\r|\n/.test(text.trim()))) return; // a plain name: let it paste
  ev.preventDefault();
  const row = state.rows.find((r) => r.refs.name === target);
  const parsed = pastedToEquipment(text, state.catalog.categories);
  if (row && rowIsEmpty(row) && parsed.items.length) {
    const first = parsed.items.shift();
    row.refs.name.value = first.name || '';
    row.refs.cat.value = first.category || '';
    row.refs.kw.value = first.rated_kw || '';
    row.refs.qty.value = first.quantity || '1';
    row.refs.standby.checked = Boolean(first.standby);
    scheduleMatch(row, 0);
    if (parsed.items.length) importItems(parsed, 'paste', [], 1);
    else setImportStatus(() => t('import_added', { n: 1, source: t('source_paste') }));
  } else {
    importItems(parsed, 'paste');
  }
}

// ---------------------------------------------------------------------------------------
// Examples and form state

function loadExample(key) {
  const ex = state.catalog.examples[key];
  if (!ex) return;
  const ind = state.industries.get(ex.industry);
  $('#industry').value = ind ? catName(ind) : ex.industry;
  $('#climate_zone').value = ex.climate_zone || '';
  $('#floor_area_m2').value = ex.floor_area_m2 ?? '';
  $('#employees').value = ex.employees ?? '';
  $('#shifts').value = ex.shifts ?? '';
  clearRows();
  for (const it of ex.equipment || []) addRow(it);
  clearErrors();
  updateIndustryHint();
  markStale();
  setImportStatus('');
  setStatus(() => t('status_example_loaded', { name: t(`example_${key}`, {}, key) }));
}

function resetForm() {
  const hasData = state.rows.some((r) => !rowIsEmpty(r)) || $('#industry').value.trim();
  if (hasData && !window.confirm(t('confirm_reset'))) return false;
  document.dispatchEvent(new Event('capacity:reset'));
  clearRows();
  clearErrors();
  state.result = null;
  renderResults();
  setImportStatus('');
  setStatus('');
  setTimeout(updateIndustryHint, 0);
  return true;
}

function markStale() {
  if (!state.result) return;
  const note = $('#stale-note');
  if (note) note.hidden = false;
}

// ---------------------------------------------------------------------------------------
// Validation and the request body

function numberValue(raw) {
  const v = parseNumber(raw);
  return v;
}

/**
 * Read the form into an Application. Returns {app, proposed, errors, indexToRow}; values
 * that do not parse are passed through as strings (so the server can reject them when
 * client checks are off).
 */
function collect() {
  const errors = [];
  const app = {};
  const fieldErr = (id, key, params = {}) => errors.push({ target: { kind: 'field', id }, label: () => t(FIELD_KEYS[id]), message: () => t(key, params) });
  const industryText = $('#industry').value.trim();
  const code = resolveIndustry(industryText);
  if (!industryText) fieldErr('industry', 'err_industry_required');
  else if (!code) fieldErr('industry', 'err_industry_unknown', { text: industryText });
  app.industry = code || industryText;
  if ($('#climate_zone').value) app.climate_zone = $('#climate_zone').value;

  const numField = (id, { integer = false, min = 0, exclusive = true, max, key }) => {
    const raw = $(`#${id}`).value;
    const v = numberValue(raw);
    if (v === null) return undefined;
    if (Number.isNaN(v)) { fieldErr(id, integer ? 'err_integer' : 'err_number'); return raw.trim(); }
    if (integer && !Number.isInteger(v)) fieldErr(id, 'err_integer');
    else if (exclusive ? v <= min : v < min) fieldErr(id, key || (exclusive ? 'err_positive' : 'err_min'), { min, max });
    else if (max !== undefined && v > max) fieldErr(id, key || 'err_max', { min, max });
    return v;
  };
  const area = numField('floor_area_m2', { max: LIMITS.floor_area_m2 });
  if (area !== undefined) app.floor_area_m2 = area;
  const emp = numField('employees', { integer: true, min: 0, exclusive: false, max: LIMITS.employees });
  if (emp !== undefined) app.employees = emp;
  const shifts = numField('shifts', { integer: true, min: 1, exclusive: false, max: 3, key: 'err_shifts' });
  if (shifts !== undefined) app.shifts = shifts;

  app.equipment = [];
  const indexToRow = [];
  state.rows.forEach((row) => {
    if (rowIsEmpty(row)) return;
    const r = row.refs;
    const rowErr = (part, key, params = {}) => errors.push({
      target: { kind: 'row', rowId: row.id, part },
      label: () => `${t(ROW_PART_KEYS[part])}${t('row_suffix', { n: rowNumber(row) })}`,
      message: () => t(key, { ...params, n: rowNumber(row) }),
    });
    const item = {};
    const name = r.name.value.trim();
    if (r.cat.value) item.category = r.cat.value;
    if (name) item.name = name;
    if (!name && !r.cat.value) rowErr('name', 'err_row_name');
    const kw = numberValue(r.kw.value);
    if (kw === null) { rowErr('kw', 'err_kw_required'); item.rated_kw = null; }
    else if (Number.isNaN(kw)) { rowErr('kw', 'err_number'); item.rated_kw = r.kw.value.trim(); }
    else {
      if (kw <= 0) rowErr('kw', 'err_kw_positive');
      else if (kw > LIMITS.rated_kw) rowErr('kw', 'err_max', { max: fmtNum(LIMITS.rated_kw) });
      item.rated_kw = kw;
    }
    const qRaw = r.qty.value.trim();
    const q = qRaw === '' ? 1 : numberValue(qRaw);
    if (Number.isNaN(q) || !Number.isInteger(q)) { rowErr('qty', 'err_qty_integer'); item.quantity = Number.isNaN(q) ? qRaw : q; }
    else {
      if (q < 1) rowErr('qty', 'err_qty_min');
      else if (q > LIMITS.quantity) rowErr('qty', 'err_max', { max: fmtNum(LIMITS.quantity) });
      item.quantity = q;
    }
    if (r.standby.checked) item.standby = true;
    indexToRow.push(row.id);
    app.equipment.push(item);
  });
  if (app.equipment.length > state.catalog.max_equipment_lines) {
    errors.push({ target: { kind: 'equipment' }, message: () => t('err_too_many_rows', { max: state.catalog.max_equipment_lines }) });
  }
  if (!app.equipment.length && app.floor_area_m2 === undefined) {
    errors.push({ target: { kind: 'equipment' }, message: () => t('err_need_equipment_or_area') });
    errors.push({ target: { kind: 'field', id: 'floor_area_m2' }, message: () => t('err_need_equipment_or_area_short') });
  }
  let proposed;
  if (state.mode === 'planner') {
    const v = numberValue($('#proposed_kva').value);
    if (v === null) fieldErr('proposed_kva', 'err_proposed_required');
    else if (Number.isNaN(v)) { fieldErr('proposed_kva', 'err_number'); proposed = $('#proposed_kva').value.trim(); }
    else {
      if (v <= 0) fieldErr('proposed_kva', 'err_positive', { min: 0 });
      else if (v > LIMITS.proposed_kva) fieldErr('proposed_kva', 'err_max', { max: fmtNum(LIMITS.proposed_kva) });
      proposed = v;
    }
  }
  const design = designOptions();
  if (design) app.design = design;
  return { app, proposed, errors, indexToRow };
}

// Server error `field` paths → form controls.
const FIELD_KEYS = {
  industry: 'label_industry', climate_zone: 'label_climate', floor_area_m2: 'label_area',
  employees: 'label_employees', shifts: 'label_shifts', proposed_kva: 'label_proposed', equipment: 'section_equipment',
};
const ROW_PARTS = { rated_kw: 'kw', quantity: 'qty', category: 'cat', name: 'name', standby: 'name' };
const ROW_PART_KEYS = { kw: 'col_kw', qty: 'col_qty', cat: 'col_category', name: 'col_name' };

function mapServerError(e) {
  const field = String(e.field ?? '').replace(/^application\./, '');
  const server = () => {
    const exp = e.expected && e.expected !== e.message ? ` (${t('expected')}: ${e.expected})` : '';
    return `${e.message || ''}${exp}`;
  };
  const m = field.match(/^equipment\[(\d+)\](?:\.([a-z_]+))?/);
  if (m) {
    const rowId = state.submitIndexToRow[Number(m[1])];
    const part = ROW_PARTS[m[2]] || 'name';
    const row = state.rows.find((r) => r.id === rowId);
    if (row) {
      return {
        target: { kind: 'row', rowId, part },
        message: () => `${t(ROW_PART_KEYS[part])}${t('row_suffix', { n: rowNumber(row) })}${t('colon')}${server()}`,
      };
    }
  }
  const base = field.split(/[.[]/)[0];
  if (base in FIELD_KEYS) {
    const target = base === 'equipment' ? { kind: 'equipment' } : { kind: 'field', id: base };
    return { target, message: () => `${t(FIELD_KEYS[base])}${t('colon')}${server()}` };
  }
  return { target: { kind: 'general' }, message: () => (field && field !== '(body)' ? `${field}${t('colon')}` : '') + server() };
}

function errorSlot(target) {
  if (target.kind === 'field') return { input: $(`#${target.id}`), box: $(`#${target.id}-error`) };
  if (target.kind === 'row') {
    const row = state.rows.find((r) => r.id === target.rowId);
    if (!row) return { input: null, box: null };
    const input = row.refs[target.part] || row.refs.name;
    return { input, box: $(`#eq-${row.id}-${target.part}-error`), row };
  }
  if (target.kind === 'equipment') return { input: state.rows[0]?.refs.name || $('#add-row'), box: $('#equipment-error') };
  return { input: null, box: null };
}

function clearErrors() {
  state.errors = [];
  document.querySelectorAll('.field-error').forEach((el) => { el.hidden = true; el.textContent = ''; });
  document.querySelectorAll('[aria-invalid="true"]').forEach((el) => el.removeAttribute('aria-invalid'));
  document.querySelectorAll('.eq-row.has-error').forEach((el) => el.classList.remove('has-error'));
  const sum = $('#error-summary');
  sum.hidden = true;
  sum.replaceChildren();
}

function renderErrors() {
  const list = state.errors;
  document.querySelectorAll('.field-error').forEach((el) => { el.hidden = true; el.textContent = ''; });
  document.querySelectorAll('[aria-invalid="true"]').forEach((el) => el.removeAttribute('aria-invalid'));
  const sum = $('#error-summary');
  if (!list.length) { sum.hidden = true; sum.replaceChildren(); return; }
  const items = [];
  for (const e of list) {
    const msg = e.message();
    const summary = e.label ? `${e.label()}${t('colon')}${msg}` : msg;
    const { input, box, row } = errorSlot(e.target);
    if (box) {
      box.hidden = false;
      box.textContent = box.textContent ? `${box.textContent} ${msg}` : msg;
    }
    if (input && input.tagName !== 'BUTTON') input.setAttribute('aria-invalid', 'true');
    if (row) row.el.classList.add('has-error');
    const link = input
      ? h('a', { href: `#${input.id}`, text: summary, onclick: (ev) => { ev.preventDefault(); input.focus(); input.scrollIntoView({ block: 'center' }); } })
      : h('span', { text: summary });
    items.push(h('li', {}, [link]));
  }
  sum.replaceChildren(
    h('h3', { text: e_title(list) }),
    h('ul', {}, items),
  );
  sum.hidden = false;
}

function e_title(list) {
  const server = list.some((e) => e.fromServer);
  return t(server ? 'errors_title_server' : 'errors_title', { n: list.length });
}

function firstErrorInput() {
  for (const e of state.errors) {
    const { input } = errorSlot(e.target);
    if (input) return input;
  }
  return $('#error-summary');
}

// ---------------------------------------------------------------------------------------
// Submitting

async function onSubmit(ev) {
  ev.preventDefault();
  if (state.busy || !state.catalog) return;
  clearErrors();
  const { app, proposed, errors, indexToRow } = collect();
  state.submitIndexToRow = indexToRow;
  if (errors.length && !state.serverChecksOnly) {
    state.errors = errors;
    renderErrors();
    setStatus(() => t('status_fix', { n: errors.length }));
    firstErrorInput().focus();
    return;
  }
  const planner = state.mode === 'planner';
  const url = planner ? '/check' : '/recommend';
  const body = planner ? { application: app, proposed_kva: proposed } : app;
  setBusy(true);
  setStatus(() => t('status_working'));
  let resp;
  let data = null;
  try {
    resp = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    try { data = await resp.json(); } catch { data = null; }
  } catch (err) {
    setBusy(false);
    state.errors = [{ target: { kind: 'general' }, message: () => t('err_network', { detail: String(err.message || err) }) }];
    renderErrors();
    setStatus(() => t('err_network', { detail: '' }));
    $('#error-summary').focus();
    return;
  }
  setBusy(false);
  if (!resp.ok) {
    const errs = data && Array.isArray(data.errors) ? data.errors : [{ field: null, message: t('err_http', { status: resp.status }), expected: '' }];
    state.errors = errs.map((e) => ({ ...mapServerError(e), fromServer: true }));
    if (resp.status === 503) state.errors.unshift({ target: { kind: 'general' }, message: () => t('err_not_ready') });
    renderErrors();
    const n = state.errors.length;
    setStatus(() => t('status_server_errors', { n }));
    firstErrorInput().focus();
    return;
  }
  state.result = { kind: planner ? 'check' : 'recommend', data, app, rowIds: indexToRow.slice(), at: new Date() };
  renderResults();
  const rec = planner ? data.recommendation : data;
  setStatus(() => (planner
    ? t('status_check_done', { verdict: t(`verdict_${data.verdict}`), kva: fmtKva(data.proposed_kva), rec: fmtKva(rec.recommended_kva) })
    : t('status_done', { kva: fmtKva(rec.recommended_kva) })));
  const res = $('#results');
  res.scrollIntoView({ behavior: 'smooth', block: 'start' });
  res.focus({ preventScroll: true });
}

function setBusy(busy) {
  state.busy = busy;
  const btn = $('#submit-btn');
  btn.disabled = busy;
  btn.setAttribute('aria-busy', busy ? 'true' : 'false');
  btn.textContent = busy ? t('btn_working') : t(state.mode === 'planner' ? 'btn_check' : 'btn_recommend');
  $('#results').setAttribute('aria-busy', busy ? 'true' : 'false');
}

// ---------------------------------------------------------------------------------------
// Results

function renderResults() {
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
  cards.push(h('p', { class: 'print-meta', text: t('print_meta', { time: state.result.at.toLocaleString(getLang() === 'zh' ? 'zh-CN' : 'en-GB'), id: rec.id || '—' }) }));
  if (kind === 'check') cards.push(verdictCard(data));
  cards.push(heroCard(rec));
  if (rec.warnings.length || rec.manual_review) cards.push(warningsCard(rec));
  cards.push(h('div', { class: 'grid2' }, [tiersCard(rec, kind === 'check' ? data.proposed_kva : null), driversCard(rec)]));
  cards.push(h('div', { class: 'grid2' }, [peersCard(rec), summaryCard(rec, app)]));
  cards.push(sheetCard(rec));
  if (rec.matches.length) cards.push(matchesCard(rec));
  cards.push(metaLine(rec));
  box.replaceChildren(...cards);
  drawCharts();
  // Page modules (design.js, sheet-export.js) add to the answer.
  document.dispatchEvent(new CustomEvent('capacity:result', { detail: state.result }));
}

function drawCharts(onlyChanged = false) {
  for (const job of state.chartJobs) {
    const w = job.host.clientWidth;
    if (!w) continue;
    if (onlyChanged && Math.abs(w - (job.lastWidth || 0)) < 2) continue;
    job.lastWidth = w;
    job.host.replaceChildren(job.draw(w));
  }
}

function chartHost(draw, cls) {
  const host = h('div', { class: `chart-host ${cls || ''}` });
  state.chartJobs.push({ host, draw });
  return host;
}

function outcomeLabels() {
  return {
    appropriate: t('outcome_appropriate'), undersized: t('outcome_undersized'), oversized: t('outcome_oversized'),
    recommended: t('recommended_short'), proposed: t('proposed_short'),
  };
}

function probLegend() {
  return h('ul', { class: 'legend' }, ['appropriate', 'undersized', 'oversized'].map((k) => h('li', {}, [h('span', { class: `swatch swatch-${k}`, 'aria-hidden': 'true' }), t(`outcome_${k}`)])));
}

function voltageText(v) {
  return t(`voltage_${String(v).replace(/[^a-z0-9]/gi, '_')}`, {}, v);
}

function verdictCard(c) {
  const cls = `verdict verdict-${c.verdict}`;
  const icon = { appropriate: '✓', undersized: '▼', oversized: '▲' }[c.verdict];
  const diff = c.yearly_difference_yuan;
  let diffText;
  if (Math.abs(diff) < 0.5) diffText = t('diff_same');
  else if (diff > 0) diffText = t('diff_more', { yuan: fmtYuan(diff) });
  else diffText = t('diff_less', { yuan: fmtYuan(-diff) });
  const same = Math.abs(c.proposed_kva - c.recommended_kva) < 1e-6;
  return h('section', { class: `card ${cls}`, 'aria-labelledby': 'verdict-title' }, [h('div', { class: 'verdict-left' }, [
    h('h3', { id: 'verdict-title', text: t('verdict_title') }),
    h('p', { class: 'verdict-main' }, [
      h('span', { class: 'verdict-badge', id: 'verdict-badge', 'data-verdict': c.verdict }, [h('span', { 'aria-hidden': 'true', text: `${icon} ` }), t(`verdict_${c.verdict}`)]),
      h('span', { class: 'verdict-kva', text: t('verdict_proposed', { kva: fmtKva(c.proposed_kva) }) }),
    ]),
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

function heroCard(rec) {
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
    ]),
    h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])),
    h('div', { class: 'hero-peak' }, [
      h('h3', { text: t('predicted_peak') }),
      h('p', { class: 'peak-value' }, [h('strong', { id: 'predicted-peak', text: fmtKw(rec.predicted_peak_kw) })]),
      chartHost((w) => intervalChart(rec, { width: w, title: t('predicted_peak'), fmtKw, labels: { peak: t('predicted_peak'), i80: t('interval80'), i90: t('interval90') } }), 'interval'),
      h('ul', { class: 'legend' }, [
        h('li', {}, [h('span', { class: 'swatch swatch-band80', 'aria-hidden': 'true' }), `${t('interval80')} ${fmtKw(rec.peak_low80_kw)} – ${fmtKw(rec.peak_high80_kw)}`]),
        h('li', {}, [h('span', { class: 'swatch swatch-band90', 'aria-hidden': 'true' }), `${t('interval90')} ${fmtKw(rec.peak_low90_kw)} – ${fmtKw(rec.peak_high90_kw)}`]),
      ]),
    ]),
  ]);
}

function warningsCard(rec) {
  const items = rec.warnings.map((w) => h('li', { 'data-code': w.code, text: getLang() === 'zh' ? w.message_zh : w.message_en }));
  if (rec.manual_review && !rec.warnings.length) items.push(h('li', { text: t('manual_review_generic') }));
  return h('section', { class: 'card warnings', 'aria-labelledby': 'warnings-title' }, [
    h('h3', { id: 'warnings-title' }, [h('span', { 'aria-hidden': 'true', text: '⚠ ' }), t('warnings_title')]),
    h('ul', { id: 'warnings-list' }, items),
  ]);
}

function tiersCard(rec, proposedKva) {
  return h('section', { class: 'card', 'aria-labelledby': 'tiers-title' }, [
    h('h3', { id: 'tiers-title', text: t('tiers_title') }),
    h('p', { class: 'hint small', text: t('tiers_help') }),
    chartHost((w) => tierChart(rec.tiers, { width: w, title: t('tiers_title'), labels: outcomeLabels(), fmtPct, fmtKva, proposedKva }), 'tiers'),
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

function driversCard(rec) {
  const lang = getLang();
  const sorted = rec.drivers.slice().sort((a, b) => Math.abs(b.kw) - Math.abs(a.kw));
  const shown = sorted.slice(0, MAX_DRIVERS).map((d) => ({
    label: lang === 'zh' ? d.label_zh : d.label_en,
    kw: d.kw,
    detail: t('driver_detail', { eng: fmtKw(d.engineering_kw), corr: fmtKw(d.correction_kw) }),
  }));
  const rest = sorted.slice(MAX_DRIVERS);
  if (rest.length) shown.push({ label: t('drivers_other', { n: rest.length }), kw: rest.reduce((s, d) => s + d.kw, 0) });
  if (rec.drivers_base_kw) shown.push({ label: t('drivers_base'), kw: rec.drivers_base_kw });
  const signed = (v) => `${v >= 0 ? '+' : '−'}${fmtNum(Math.abs(v))}`;
  return h('section', { class: 'card', 'aria-labelledby': 'drivers-title' }, [
    h('h3', { id: 'drivers-title', text: t('drivers_title') }),
    h('p', { class: 'hint small', text: t('drivers_help', { peak: fmtKw(rec.predicted_peak_kw) }) }),
    shown.length
      ? chartHost((w) => driversChart(shown, { width: w, title: t('drivers_title'), fmtKw: signed, unit: 'kW' }), 'drivers')
      : h('p', { class: 'hint', text: t('drivers_none') }),
    h('ul', { class: 'legend' }, [
      h('li', {}, [h('span', { class: 'swatch swatch-positive', 'aria-hidden': 'true' }), t('drivers_positive')]),
      h('li', {}, [h('span', { class: 'swatch swatch-negative', 'aria-hidden': 'true' }), t('drivers_negative')]),
    ]),
  ]);
}

function peersCard(rec) {
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
    const pctText = pct != null ? t('percentile', { p: fmtNum(pct, 0) }) : '';
    children.push(h('div', { class: 'peer-metric' }, [
      h('h4', { text: `${t(labelKey)} (${unit})` }),
      chartHost((w) => peerChart(q, v, { width: w, title: t(labelKey), fmt: f, thisLabel: t('peers_this'), pctText }), 'peers'),
      h('p', { class: 'hint small', text: t('peers_sentence', { value: `${f(v)} ${unit}`, pct: pctText || '—', p50: `${f(q.p50)} ${unit}` }) }),
    ]));
  }
  if (!drawn) children.push(h('p', { class: 'hint', text: t('peers_no_metric') }));
  children.push(h('ul', { class: 'legend' }, [
    h('li', {}, [h('span', { class: 'swatch swatch-band90', 'aria-hidden': 'true' }), 'P5–P95']),
    h('li', {}, [h('span', { class: 'swatch swatch-band80', 'aria-hidden': 'true' }), 'P10–P90']),
    h('li', {}, [h('span', { class: 'swatch swatch-marker', 'aria-hidden': 'true' }), t('peers_this')]),
  ]));
  return h('section', { class: 'card', 'aria-labelledby': 'peers-title' }, children);
}

function scaleBandText(band) {
  if (!band || band === 'unknown scale') return t('scale_unknown');
  return band;
}

function summaryCard(rec, app) {
  const ind = state.industries.get(app.industry);
  const zone = state.catalog.climate_zones.find((z) => z.code === app.climate_zone);
  const rows = [
    [t('label_industry'), ind ? catName(ind) : app.industry],
    [t('label_climate'), zone ? catName(zone) : t('climate_unknown')],
    [t('label_area'), app.floor_area_m2 != null ? `${fmtNum(app.floor_area_m2)} m²` : '—'],
    [t('label_employees'), app.employees != null ? fmtNum(app.employees, 0) : '—'],
    [t('label_shifts'), app.shifts != null ? fmtNum(app.shifts, 0) : '—'],
    [t('equipment_lines'), t('rows_count', { n: app.equipment.length })],
    [t('installed_kw'), fmtKw(rec.installed_kw)],
    [t('standby_kw'), fmtKw(rec.standby_kw)],
    [t('basis'), t(`basis_${rec.basis}`, {}, rec.basis)],
  ];
  return h('section', { class: 'card summary', 'aria-labelledby': 'summary-title' }, [
    h('h3', { id: 'summary-title', text: t('summary_title') }),
    h('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])),
  ]);
}

function tableWrap(table, label) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': label }, [table]);
}

function sheetNotes(s) {
  const notes = [];
  if (s.method === 'area_density') {
    notes.push(t('note_area_method', { w: fmtNum(s.design_w_m2 ?? 0), area: fmtNum(s.floor_area_m2 ?? 0) }));
  } else if (s.rows.length === 1) {
    notes.push(t('note_single_group'));
  }
  if (s.qc_kvar > 0 && s.cos_phi_natural != null) {
    notes.push(t('note_compensation', { qc: fmtNum(s.qc_kvar), from: fmtNum(s.cos_phi_natural, 3), to: fmtNum(s.target_cos_phi, 2) }));
  }
  if (s.density_outside_range && s.installed_w_m2 != null && s.installed_w_m2_range) {
    notes.push(t('note_density', { w: fmtNum(s.installed_w_m2, 0), lo: fmtNum(s.installed_w_m2_range[0]), hi: fmtNum(s.installed_w_m2_range[1]) }));
  }
  return notes;
}

function sheetCard(rec) {
  const s = rec.engineering;
  const head = h('h3', { id: 'sheet-title', text: t('sheet_title') });
  const compare = h('div', { class: 'compare' }, [
    h('div', { class: 'compare-item model' }, [
      h('span', { class: 'compare-label', text: t('compare_model') }),
      h('span', { class: 'compare-value', text: fmtKva(rec.recommended_kva) }),
      h('span', { class: 'hint small', text: `${t('predicted_peak')} ${fmtKw(rec.predicted_peak_kw)}` }),
    ]),
    h('div', { class: 'compare-item eng' }, [
      h('span', { class: 'compare-label', text: t('compare_engineering') }),
      h('span', { class: 'compare-value', id: 'engineering-kva', text: rec.engineering_kva != null ? fmtKva(rec.engineering_kva) : '—' }),
      h('span', { class: 'hint small', text: s ? `S30 ${fmtNum(s.s30_comp_kva)} kVA · ${t('load_rate')} ${fmtPct(s.load_rate)}` : t('sheet_none_short') }),
    ]),
    h('div', { class: 'compare-text' }, [
      h('p', { class: 'compare-note' }, [compareSentence(rec)]),
      rec.bounds && (rec.bounds.lower_kva != null || rec.bounds.upper_kva != null)
        ? h('p', { class: 'hint small', text: t('bounds_text', { lo: rec.bounds.lower_kva != null ? fmtKva(rec.bounds.lower_kva) : '—', hi: rec.bounds.upper_kva != null ? fmtKva(rec.bounds.upper_kva) : '—' }) })
        : null,
    ]),
  ]);
  if (!s) {
    return h('section', { class: 'card sheet', 'aria-labelledby': 'sheet-title' }, [head, h('div', { class: 'sheet-grid' }, [compare, h('p', { class: 'hint', text: t('sheet_none') })])]);
  }
  const n1 = (v) => fmtFixed(v, 1);
  const n2 = (v) => fmtFixed(v, 2);
  const n3 = (v) => fmtFixed(v, 3);
  const cat = (code) => { const c = state.categories.get(code); return c ? catName(c) : code; };
  let table;
  if (s.method === 'demand_coefficient') {
    const cols = [t('sheet_col_category'), 'Pe (kW)', 'Kx', 'cos φ', 'tan φ', 'Pjs (kW)', 'Qjs (kvar)'];
    table = h('table', { class: 'data sheet-table', id: 'sheet-table' }, [
      h('caption', { text: t('sheet_caption') }),
      h('thead', {}, h('tr', {}, cols.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : '', text: c })))),
      h('tbody', {}, s.rows.map((r) => h('tr', {}, [
        h('th', { scope: 'row', text: cat(r.category) }),
        h('td', { class: 'num', text: n1(r.installed_kw) }),
        h('td', { class: 'num', text: `${n3(r.kx)}${r.kx_overridden ? '*' : ''}` }),
        h('td', { class: 'num', text: `${n2(r.cos_phi)}${r.cos_phi_overridden ? '*' : ''}` }),
        h('td', { class: 'num', text: n2(r.tan_phi) }),
        h('td', { class: 'num', text: n1(r.p_kw) }),
        h('td', { class: 'num', text: n1(r.q_kvar) }),
      ]))),
      h('tfoot', {}, h('tr', {}, [
        h('th', { scope: 'row', text: t('sheet_total') }),
        h('td', { class: 'num', text: s.installed_kw != null ? n1(s.installed_kw) : '' }), h('td'), h('td'), h('td'),
        h('td', { class: 'num', text: n1(s.sum_p_kw) }), h('td', { class: 'num', text: n1(s.sum_q_kvar) }),
      ])),
    ]);
  } else {
    table = h('p', { class: 'hint', text: t('sheet_area_method') });
  }
  const kv = [
    ['K∑p', n2(s.k_sum_p)], ['K∑q', n2(s.k_sum_q)],
    ['P30', `${n1(s.p30_kw)} kW`], ['Q30', `${n1(s.q30_kvar)} kvar`],
    ['S30', `${n1(s.s30_kva)} kVA`], ['I30', `${n1(s.i30_a)} A`],
    [t('sheet_cos_natural'), s.cos_phi_natural != null ? n3(s.cos_phi_natural) : '—'],
    [t('sheet_qc'), `${n1(s.qc_kvar)} kvar`],
    [t('sheet_q30_comp'), `${n1(s.q30_comp_kvar)} kvar`],
    [t('sheet_s30_comp'), `${n1(s.s30_comp_kva)} kVA`],
    [t('sheet_i30_comp'), `${n1(s.i30_comp_a)} A`],
    [t('sheet_transformer'), `${fmtKva(s.transformer_kva)} (${t('load_rate')} ${fmtPct(s.load_rate)} ≤ ${fmtPct(s.max_load_rate)})`],
    [t('supply_voltage'), voltageText(s.supply_voltage)],
    [t('two_part_tariff'), s.two_part_tariff ? t('yes_tariff') : t('no_tariff')],
  ];
  const kvTable = h('table', { class: 'data kv', id: 'sheet-totals' }, [
    h('caption', { text: t('sheet_totals_caption') }),
    h('tbody', {}, kv.map(([k, v]) => h('tr', {}, [h('th', { scope: 'row', text: k }), h('td', { class: 'num', text: v })]))),
  ]);
  const extra = [];
  if (s.excluded.length) {
    extra.push(h('h4', { text: t('sheet_excluded') }), h('ul', { class: 'excluded' }, s.excluded.map((x) => h('li', {
      text: `${x.name && x.name !== cat(x.category) ? `${x.name}${getLang() === 'zh' ? `（${cat(x.category)}）` : ` (${cat(x.category)})`}` : cat(x.category)} ${fmtKw(x.installed_kw)}${t('colon')}${t(/fire pump/.test(x.reason) && !/standby/.test(x.reason) ? 'excluded_fire' : 'excluded_standby')}`,
    }))));
  }
  const notes = sheetNotes(s);
  if (notes.length) extra.push(h('h4', { text: t('sheet_notes') }), h('ul', { class: 'notes' }, notes.map((n) => h('li', { text: n }))));
  return h('section', { class: 'card sheet', 'aria-labelledby': 'sheet-title' }, [
    head,
    h('p', { class: 'hint small', text: t(s.method === 'demand_coefficient' ? 'sheet_help' : 'sheet_help_area') }),
    h('div', { class: 'sheet-grid' }, [
      compare,
      h('div', { class: 'sheet-body' }, [
        s.method === 'demand_coefficient' ? tableWrap(table, t('sheet_caption')) : table,
        h('div', { class: 'sheet-lower' }, [tableWrap(kvTable, t('sheet_totals_caption')), h('div', { class: 'sheet-extra' }, extra)]),
      ]),
    ]),
  ]);
}

function compareSentence(rec) {
  if (rec.engineering_kva == null) return t('compare_no_engineering');
  const series = state.catalog.standard_series_kva;
  const a = series.indexOf(rec.recommended_kva);
  const b = series.indexOf(rec.engineering_kva);
  if (rec.recommended_kva === rec.engineering_kva) return t('compare_same');
  if (a >= 0 && b >= 0) {
    const steps = a - b;
    return t(steps > 0 ? 'compare_higher' : 'compare_lower', { n: Math.abs(steps) });
  }
  return t(rec.recommended_kva > rec.engineering_kva ? 'compare_higher_plain' : 'compare_lower_plain');
}

function matchesCard(rec) {
  const rowIds = state.result.rowIds;
  const unmatched = rec.matches.filter((m) => m.source === 'unmatched').length;
  return h('section', { class: 'card matches', 'aria-labelledby': 'matches-title' }, [
    h('h3', { id: 'matches-title', text: t('matches_title') }),
    h('p', { class: unmatched ? 'notice warn' : 'hint small', text: unmatched ? t('matches_unmatched', { n: unmatched }) : t('matches_all', { n: rec.matches.length }) }),
    tableWrap(h('table', { class: 'data', id: 'matches-table' }, [
      h('thead', {}, h('tr', {}, ['#', t('match_col_text'), t('match_col_category'), t('confidence'), t('match_col_how')].map((c, i) => h('th', { scope: 'col', class: i === 0 || i === 3 ? 'num' : '', text: c })))),
      h('tbody', {}, rec.matches.map((m) => {
        const cat = m.category ? state.categories.get(m.category) : null;
        const row = state.rows.find((r) => r.id === rowIds[m.index]);
        const un = m.source === 'unmatched';
        return h('tr', { class: un ? 'unmatched' : '' }, [
          h('td', { class: 'num', text: String(m.index + 1) }),
          h('td', { text: m.text || '—' }),
          h('td', {}, un
            ? [h('span', { class: 'badge badge-alert', text: t('unmatched') }), row ? [' ', h('button', { type: 'button', class: 'btn tiny no-print', text: t('btn_fix_row'), onclick: () => { row.refs.cat.focus(); row.refs.cat.scrollIntoView({ block: 'center' }); } })] : null].flat()
            : [cat ? catName(cat) : m.category]),
          h('td', { class: 'num', text: un && !m.confidence ? '—' : fmtPct(m.confidence) }),
          h('td', { text: t(`match_source_${m.source}`) + (m.matched_alias ? ` · “${m.matched_alias}”` : '') }),
        ]);
      })),
    ]), t('matches_title')),
  ]);
}

function metaLine(rec) {
  return h('p', { class: 'meta', id: 'model-meta' }, [
    t('meta_line', {
      version: rec.model_version,
      source: rec.source === 'model' ? t('source_model') : t('source_fallback'),
      id: rec.id || '—',
    }),
  ]);
}

// ---------------------------------------------------------------------------------------
// Mode and language

function setMode(mode) {
  state.mode = mode;
  $('#mode-customer').setAttribute('aria-pressed', String(mode === 'customer'));
  $('#mode-planner').setAttribute('aria-pressed', String(mode === 'planner'));
  document.querySelectorAll('.planner-only').forEach((el) => { el.hidden = mode !== 'planner'; });
  document.body.classList.toggle('planner', mode === 'planner');
  $('#submit-btn').textContent = t(mode === 'planner' ? 'btn_check' : 'btn_recommend');
  try { localStorage.setItem('capacity.mode', mode); } catch { /* private mode */ }
}

function refreshLanguage() {
  applyI18n();
  const btn = $('#lang-toggle');
  const other = getLang() === 'zh' ? 'en' : 'zh';
  btn.textContent = other === 'en' ? 'English' : '中文';
  btn.setAttribute('lang', other === 'en' ? 'en' : 'zh-CN');
  btn.setAttribute('aria-label', other === 'en' ? 'Switch to English' : '切换到中文');
  if (!state.catalog) return;
  renderPickers();
  renumberRows();
  setMode(state.mode);
  if (state.errors.length) renderErrors();
  const stale = $('#stale-note') && !$('#stale-note').hidden;
  renderResults();
  if (stale) markStale();
  if (state.busy) setBusy(true);
  if (state.status) $('#status').textContent = state.status();
  if (state.importStatus) $('#import-status').textContent = state.importStatus.fn();
}

// ---------------------------------------------------------------------------------------
// Start

async function main() {
  refreshLanguage();
  if (!(await loadCatalog())) return;
  try { const m = localStorage.getItem('capacity.mode'); if (m === 'planner') state.mode = 'planner'; } catch { /* ignore */ }
  renderPickers();
  setMode(state.mode);
  renumberRows();
  addRow({}, { match: false });
  updateIndustryHint();

  $('#lang-toggle').addEventListener('click', () => setLang(getLang() === 'zh' ? 'en' : 'zh'));
  onLangChange(refreshLanguage);
  $('#mode-customer').addEventListener('click', () => setMode('customer'));
  $('#mode-planner').addEventListener('click', () => { setMode('planner'); $('#proposed_kva').focus(); });
  const form = $('#app-form');
  form.addEventListener('submit', onSubmit);
  form.addEventListener('reset', (ev) => {
    if (!resetForm()) { ev.preventDefault(); return; }
    setTimeout(() => { addRow({}, { match: false }); updateIndustryHint(); }, 0);
  });
  form.addEventListener('input', markStale);
  form.addEventListener('change', markStale);
  $('#industry').addEventListener('input', updateIndustryHint);
  $('#industry').addEventListener('change', () => {
    const code = resolveIndustry($('#industry').value);
    if (code) $('#industry').value = catName(state.industries.get(code));
    updateIndustryHint();
  });
  $('#add-row').addEventListener('click', () => addRow({}, { focus: 'name', match: false }));
  $('#add-category-btn').addEventListener('click', () => {
    const code = $('#add-category').value;
    addRow({ category: code, name: '' }, { focus: 'kw', match: false });
    markStale();
  });
  $('#clear-rows').addEventListener('click', () => {
    if (state.rows.some((r) => !rowIsEmpty(r)) && !window.confirm(t('confirm_clear'))) return;
    clearRows();
    markStale();
    setImportStatus(() => t('rows_cleared'));
    $('#add-row').focus();
  });
  $('#paste-add').addEventListener('click', onPasteAdd);
  $('#csv-file').addEventListener('change', onCsvFile);
  $('#eq-rows').addEventListener('paste', onRowsPaste);

  let resizeTimer = null;
  const ro = new ResizeObserver(() => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => drawCharts(true), 120); });
  ro.observe($('#main'));
  window.addEventListener('beforeprint', () => drawCharts(true));
  document.body.dataset.ready = 'true';
}

main();
