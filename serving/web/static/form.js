// The form: examples, reset, reading it into an Application, and error display.

import { $, h } from './dom.js';
import { t, getLang, fmtNum, catName } from './i18n.js';
import { parseNumber } from './csv.js';
import { ratingKw, hasUnit } from './figures.js';
import { setStatus, markStale } from './state.js';
import { resolveIndustry, updateIndustryHint } from './catalog.js';
import { addRow, rowNumber, clearRows, rowIsEmpty, rowUnmatched } from './rows.js';
import { setImportStatus } from './importer.js';
import { renderResults } from './results.js';
import { designOptions } from './design.js';
import { collectExisting, isExisting, meterLabel, meterTarget, resetExisting } from './existing.js';

export function loadExample(state, key) {
  const ex = state.catalog.examples[key];
  if (!ex) return;
  const ind = state.industries.get(ex.industry);
  $('#industry').value = ind ? catName(ind) : ex.industry;
  $('#climate_zone').value = ex.climate_zone || '';
  $('#floor_area_m2').value = ex.floor_area_m2 ?? '';
  $('#employees').value = ex.employees ?? '';
  $('#shifts').value = ex.shifts ?? '';
  clearRows(state);
  for (const it of ex.equipment || []) addRow(state, it);
  clearErrors(state);
  updateIndustryHint(state);
  markStale(state);
  setImportStatus(state, '');
  setStatus(state, () => t('status_example_loaded', { name: t(`example_${key}`, {}, key) }));
}

export function resetForm(state) {
  const hasData = state.rows.some((r) => !rowIsEmpty(r)) || $('#industry').value.trim();
  if (hasData && !window.confirm(t('confirm_reset'))) return false;
  document.dispatchEvent(new Event('capacity:reset'));
  clearRows(state);
  resetExisting(state);
  clearErrors(state);
  state.result = null;
  renderResults(state);
  setImportStatus(state, '');
  setStatus(state, '');
  setTimeout(() => updateIndustryHint(state), 0);
  return true;
}

/** "7,5" written with a decimal comma → "7.5" (null when it is not that). */
export function decimalComma(raw) {
  const s = String(raw ?? '').trim();
  return /^[+-]?\d+,\d+$/.test(s) && !/^[+-]?\d{1,3}(,\d{3})+$/.test(s) ? s.replace(',', '.') : null;
}

export function numberValue(raw) {
  const v = parseNumber(raw);
  return v;
}

/**
 * Read the form into an Application. Returns {app, proposed, errors, indexToRow}; values
 * that do not parse are passed through as strings (so the server can reject them when
 * client checks are off).
 */
export function collect(state) {
  const errors = [];
  const app = {};
  const fieldErr = (id, key, params = {}) => errors.push({ target: { kind: 'field', id }, label: () => t(FIELD_KEYS[id]), message: () => t(key, params) });
  const industryText = $('#industry').value.trim();
  const code = resolveIndustry(state, industryText);
  const found = state.industryMatch && state.industryMatch.text === industryText ? state.industryMatch : null;
  if (!industryText) fieldErr('industry', 'err_industry_required');
  // Not recognised here and not (yet) by the server's matcher: the text goes as written
  // and the server reads it with the same matcher (or says it does not know it).
  else if (!code && found && found.state === 'done' && !found.code) fieldErr('industry', 'err_industry_unknown', { text: industryText });
  // A guess (工厂: the server's guess field) goes as the customer wrote it, so the answer's
  // industry_match says it was a guess (and the log keeps it); sent as the code, the
  // answer would look read for sure.
  const guessed = Boolean(code && found && found.state === 'done' && found.code === code && found.guess);
  app.industry = guessed ? industryText : code || industryText;
  if ($('#climate_zone').value) app.climate_zone = $('#climate_zone').value;

  const numField = (id, { integer = false, min = 0, exclusive = true, max, key }) => {
    const raw = $(`#${id}`).value;
    const v = numberValue(raw);
    if (v === null) return undefined;
    if (Number.isNaN(v)) {
      const comma = decimalComma(raw);
      if (comma) fieldErr(id, 'err_decimal_comma', { fixed: comma });
      else fieldErr(id, integer ? 'err_integer' : 'err_number');
      return raw.trim();
    }
    if (integer && !Number.isInteger(v)) fieldErr(id, 'err_integer');
    else if (exclusive ? v <= min : v < min) fieldErr(id, key || (exclusive ? 'err_positive' : 'err_min'), { min, max });
    else if (max !== undefined && v > max) fieldErr(id, key || 'err_max', { min, max });
    return v;
  };
  const area = numField('floor_area_m2', { max: state.catalog.limits.floor_area_m2_max });
  if (area !== undefined) app.floor_area_m2 = area;
  const emp = numField('employees', { integer: true, min: 0, exclusive: false, max: state.catalog.limits.employees_max });
  if (emp !== undefined) app.employees = emp;
  const shifts = numField('shifts', { integer: true, min: 1, exclusive: false, max: 3, key: 'err_shifts' });
  if (shifts !== undefined) app.shifts = shifts;
  collectExisting(state, app, errors, state.catalog.limits);
  const existing = isExisting(state);

  app.equipment = [];
  const indexToRow = [];
  state.rows.forEach((row) => {
    if (rowIsEmpty(row)) return;
    const r = row.refs;
    const rowErr = (part, key, params = {}) => errors.push({
      target: { kind: 'row', rowId: row.id, part },
      label: () => `${t(ROW_PART_KEYS[part])}${t('row_suffix', { n: rowNumber(state, row) })}`,
      message: () => t(key, { ...params, n: rowNumber(state, row) }),
    });
    const item = {};
    const name = r.name.value.trim();
    if (r.cat.value) item.category = r.cat.value;
    if (name) item.name = name;
    if (!name && !r.cat.value) rowErr('name', 'err_row_name');
    // A power written with a unit ('60kVA', '750W') counts as the server read it.
    const read = ratingKw(row);
    const kw = read === undefined ? numberValue(r.kw.value) : read;
    if (kw === null) { rowErr('kw', 'err_kw_required'); item.rated_kw = null; }
    else if (Number.isNaN(kw) && hasUnit(r.kw.value)) {
      rowErr('kw', 'err_kw_unit_unread', { value: r.kw.value.trim() });
      item.rated_kw = r.kw.value.trim();
    }
    else if (Number.isNaN(kw)) {
      const comma = decimalComma(r.kw.value);
      rowErr('kw', comma ? 'err_decimal_comma' : 'err_number', { fixed: comma });
      item.rated_kw = r.kw.value.trim();
    }
    else {
      if (kw <= 0) rowErr('kw', 'err_kw_positive');
      else if (kw > state.catalog.limits.rated_kw_max) rowErr('kw', 'err_max', { max: fmtNum(state.catalog.limits.rated_kw_max) });
      item.rated_kw = kw;
    }
    const qRaw = r.qty.value.trim();
    const q = qRaw === '' ? 1 : numberValue(qRaw);
    if (Number.isNaN(q) || !Number.isInteger(q)) { rowErr('qty', 'err_qty_integer'); item.quantity = Number.isNaN(q) ? qRaw : q; }
    else {
      if (q < 1) rowErr('qty', 'err_qty_min');
      else if (q > state.catalog.limits.quantity_max) rowErr('qty', 'err_max', { max: fmtNum(state.catalog.limits.quantity_max) });
      item.quantity = q;
    }
    if (r.standby.checked) item.standby = true;
    // An existing customer's line is added (the default) or taken out of service.
    if (existing && r.change && r.change.value === 'remove') item.change = 'remove';
    // 暂载率 in % and the phase of a single-phase load (planner details; the sheet uses them).
    if (r.duty && r.duty.value.trim()) {
      const d = numberValue(r.duty.value.replace(/%$/, ''));
      if (Number.isNaN(d) || d === null || d <= 0 || d > 100) rowErr('duty', 'err_duty_range');
      else item.duty_cycle = Math.round(d * 10) / 1000;
    }
    if (r.phase && r.phase.value) item.phase = r.phase.value;
    // A name nothing matched is never left out silently: the customer picks a category
    // or counts it as other motor / heating load (the row offers both).
    if (rowUnmatched(state, row)) rowErr('cat', 'err_row_unmatched', { name });
    indexToRow.push(row.id);
    app.equipment.push(item);
  });
  if (app.equipment.length > state.catalog.max_equipment_lines) {
    errors.push({ target: { kind: 'equipment' }, message: () => t('err_too_many_rows', { max: state.catalog.max_equipment_lines }) });
  }
  // An existing customer is sized from its meter: no list (no change) and no area is fine.
  if (!existing && !app.equipment.length && app.floor_area_m2 === undefined) {
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
      else if (v > state.catalog.limits.capacity_kva_max) fieldErr('proposed_kva', 'err_max', { max: fmtNum(state.catalog.limits.capacity_kva_max) });
      proposed = v;
    }
  }
  const design = designOptions();
  if (design) app.design = design;
  return { app, proposed, errors, indexToRow };
}

// Server error `field` paths → form controls.
export const FIELD_KEYS = {
  industry: 'label_industry', climate_zone: 'label_climate', floor_area_m2: 'label_area',
  employees: 'label_employees', shifts: 'label_shifts', proposed_kva: 'label_proposed', equipment: 'section_equipment',
  existing_capacity_kva: 'label_existing_capacity', application_type: 'label_application_type',
};

// Existing-customer checks of the whole application (the server names no field for them):
// where on the form each one is shown.
const EXISTING_CODE_TARGETS = {
  existing_capacity_for_new: 'existing_capacity_kva',
  existing_capacity_required: 'existing_capacity_kva',
  meter_readings_for_new: 'meter',
  meter_too_few_months: 'meter',
  meter_duplicate_period: 'meter',
  meter_energy_absurd: 'meter',
  meter_demand_absurd: 'meter',
  meter_mean_above_max: 'meter',
  remove_on_new: 'equipment',
  remove_too_large: 'equipment',
  model_without_existing_customers: 'application_type',
};

export const ROW_PARTS = { rated_kw: 'kw', quantity: 'qty', category: 'cat', name: 'name', standby: 'name', duty_cycle: 'duty', phase: 'duty' };

export const ROW_PART_KEYS = { kw: 'col_kw', qty: 'col_qty', cat: 'col_category', name: 'col_name', duty: 'col_duty' };

export function mapServerError(state, e) {
  const field = String(e.field ?? '').replace(/^application\./, '');
  // The server sends a code with parameters; the page words it in the user's language
  // (never the server's English on the Chinese page).
  const server = () => {
    if (e.code) return t(`err_${e.code}`, serverParams(e.params || {}), t('err_unknown_code'));
    if (getLang() === 'en' && e.message) {
      const exp = e.expected && e.expected !== e.message ? ` (${t('expected')}: ${e.expected})` : '';
      return `${e.message}${exp}`;
    }
    return t('err_unknown_code');
  };
  const m = field.match(/^equipment\[(\d+)\](?:\.([a-z_]+))?/);
  if (m) {
    const rowId = state.submitIndexToRow[Number(m[1])];
    const part = ROW_PARTS[m[2]] || 'name';
    const row = state.rows.find((r) => r.id === rowId);
    if (row) {
      return {
        target: { kind: 'row', rowId, part },
        message: () => `${t(ROW_PART_KEYS[part])}${t('row_suffix', { n: rowNumber(state, row) })}${t('colon')}${server()}`,
      };
    }
  }
  const where = e.code ? EXISTING_CODE_TARGETS[e.code] : undefined;
  if (field.startsWith('meter_readings') || where === 'meter') {
    const target = meterTarget(state, field, e.params || {});
    const label = target.kind === 'field' ? () => meterLabel(state, target.id) : () => t('meter_title');
    return { target, message: () => `${label()}${t('colon')}${server()}` };
  }
  if (where === 'existing_capacity_kva' || where === 'application_type') {
    return { target: { kind: 'field', id: where }, message: () => `${t(FIELD_KEYS[where])}${t('colon')}${server()}` };
  }
  if (where === 'equipment') {
    return { target: { kind: 'equipment' }, message: () => `${t(FIELD_KEYS.equipment)}${t('colon')}${server()}` };
  }
  const base = field.split(/[.[]/)[0];
  if (base in FIELD_KEYS) {
    const target = base === 'equipment' ? { kind: 'equipment' } : { kind: 'field', id: base };
    return { target, message: () => `${t(FIELD_KEYS[base])}${t('colon')}${server()}` };
  }
  return { target: { kind: 'general' }, message: () => server() };
}

function serverParams(p) {
  const out = {};
  for (const [k, v] of Object.entries(p)) out[k] = typeof v === 'number' ? fmtNum(v, 3) : Array.isArray(v) ? v.join(getLang() === 'zh' ? '、' : ', ') : v;
  return out;
}

export function errorSlot(state, target) {
  if (target.kind === 'field') return { input: $(`#${target.id}`), box: $(`#${target.id}-error`) };
  if (target.kind === 'row') {
    const row = state.rows.find((r) => r.id === target.rowId);
    if (!row) return { input: null, box: null };
    const input = row.refs[target.part] || row.refs.name;
    return { input, box: $(`#eq-${row.id}-${target.part}-error`), row };
  }
  if (target.kind === 'equipment') return { input: state.rows[0]?.refs.name || $('#add-row'), box: $('#equipment-error') };
  if (target.kind === 'meter') return { input: $('#meter-0-energy'), box: $('#meter-error') };
  return { input: null, box: null };
}

export function clearErrors(state) {
  state.errors = [];
  document.querySelectorAll('.field-error').forEach((el) => { el.hidden = true; el.textContent = ''; });
  document.querySelectorAll('[aria-invalid="true"]').forEach((el) => el.removeAttribute('aria-invalid'));
  document.querySelectorAll('.eq-row.has-error').forEach((el) => el.classList.remove('has-error'));
  const sum = $('#error-summary');
  sum.hidden = true;
  sum.replaceChildren();
}

export function renderErrors(state) {
  const list = state.errors;
  document.querySelectorAll('.field-error').forEach((el) => { el.hidden = true; el.textContent = ''; });
  document.querySelectorAll('[aria-invalid="true"]').forEach((el) => el.removeAttribute('aria-invalid'));
  const sum = $('#error-summary');
  if (!list.length) { sum.hidden = true; sum.replaceChildren(); return; }
  const items = [];
  for (const e of list) {
    const msg = e.message();
    const summary = e.label ? `${e.label()}${t('colon')}${msg}` : msg;
    const { input, box, row } = errorSlot(state, e.target);
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

export function e_title(list) {
  const server = list.some((e) => e.fromServer);
  return t(server ? 'errors_title_server' : 'errors_title', { n: list.length });
}

export function firstErrorInput(state) {
  for (const e of state.errors) {
    const { input } = errorSlot(state, e.target);
    if (input) return input;
  }
  return $('#error-summary');
}
