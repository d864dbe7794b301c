// The existing customer's path (已有用户：增容 / 减容 / 暂停): the application type, the
// capacity in service, twelve months of the bill (kWh, and maximum demand where the bill
// shows it), and the equipment lines added or removed (rows.js shows a change picker).
//
// Nothing typed is reinterpreted: an empty month is left out (and said so in the
// answer's month count), a value that is not a number is an error naming its month.

import { $, h } from './dom.js';
import { t, fmtNum } from './i18n.js';
import { billNumber, monthsBefore, normalisePeriod, parseBill } from './bill.js';
import { markStale } from './state.js';

export const MONTHS = 12;

/** Whether the form is on the existing customer's path. */
export function isExisting(state) {
  return state.appKind === 'existing';
}

export function initExisting(state) {
  state.appKind = 'new';
  state.meterRows = [];
  state.submitMeterRows = [];
  const body = $('#meter-rows');
  const months = monthsBefore(MONTHS, new Date());
  for (let i = 0; i < MONTHS; i += 1) {
    const p = `meter-${i}`;
    const err = (part) => h('div', { id: `${p}-${part}-error`, class: 'field-error', hidden: true });
    const period = h('input', { id: `${p}-period`, class: 'meter-period', autocomplete: 'off', maxlength: 10, value: months[i], 'aria-describedby': `${p}-period-error` });
    const energy = h('input', { id: `${p}-energy`, class: 'meter-energy', inputmode: 'decimal', autocomplete: 'off', 'aria-describedby': `${p}-energy-error` });
    const demand = h('input', { id: `${p}-demand`, class: 'meter-demand', inputmode: 'decimal', autocomplete: 'off', 'aria-describedby': `${p}-demand-error` });
    // Each cell's own label (read by screen readers; the column heads show it on screen).
    const label = (part) => h('label', { for: `${p}-${part}`, class: 'visually-hidden' });
    const labels = { period: label('period'), energy: label('energy'), demand: label('demand') };
    body.append(h('tr', { 'data-meter-row': i }, [
      h('td', {}, [labels.period, period, err('period')]),
      h('td', { class: 'num' }, [labels.energy, energy, err('energy')]),
      h('td', { class: 'num' }, [labels.demand, demand, err('demand')]),
    ]));
    state.meterRows.push({ i, period, energy, demand, labels });
    period.addEventListener('change', () => refreshExistingLanguage(state));
  }
  document.querySelectorAll('input[name=app_kind]').forEach((el) => el.addEventListener('change', () => {
    setKind(state, /** @type {HTMLInputElement} */ (el).value);
    markStale(state);
  }));
  $('#bill-paste-add').addEventListener('click', () => onBillPaste(state));
  refreshExistingLanguage(state);
}

export function setKind(state, kind) {
  state.appKind = kind === 'existing' ? 'existing' : 'new';
  const existing = isExisting(state);
  $('#kind-existing').checked = existing;
  $('#kind-new').checked = !existing;
  document.querySelectorAll('.existing-only').forEach((el) => { el.hidden = !existing; });
  document.body.classList.toggle('existing', existing);
}

export function refreshExistingLanguage(state) {
  for (const r of state.meterRows || []) {
    const month = r.period.value || t('meter_month_n', { n: r.i + 1 });
    r.labels.period.textContent = t('meter_month_n', { n: r.i + 1 });
    r.labels.energy.textContent = t('meter_energy_of', { month });
    r.labels.demand.textContent = t('meter_demand_of', { month });
    r.energy.placeholder = r.i === 0 ? t('ph_energy') : '';
  }
  if (state.billStatus) $('#bill-paste-status').textContent = state.billStatus();
}

export function resetExisting(state) {
  const months = monthsBefore(MONTHS, new Date());
  for (const r of state.meterRows) {
    r.period.value = months[r.i];
    r.energy.value = '';
    r.demand.value = '';
  }
  $('#existing_capacity_kva').value = '';
  $('#application_type').value = 'increase';
  $('#bill-paste').value = '';
  setBillStatus(state, null);
  setKind(state, 'new');
}

function setBillStatus(state, fn) {
  state.billStatus = fn;
  $('#bill-paste-status').textContent = fn ? fn() : '';
}

/** Fill the month table from a pasted column (or month / kWh / demand columns). */
export function onBillPaste(state) {
  const { lines, notes } = parseBill($('#bill-paste').value);
  if (!lines.length) {
    setBillStatus(state, () => [t('bill_nothing'), ...notes.map((n) => t(n.key, n.params))].join(' '));
    return;
  }
  const dated = lines[0].period !== null;
  // A column longer than the table keeps its latest twelve months (the bills before the
  // application); the note says how many were left out.
  const kept = lines.slice(-MONTHS);
  const dropped = lines.length - kept.length;
  for (const r of state.meterRows) { r.energy.value = ''; r.demand.value = ''; }
  if (dated) {
    kept.forEach((line, k) => {
      const r = state.meterRows[k];
      r.period.value = line.period;
    });
    // The rest of the table follows the pasted months (it stays empty).
    for (let k = kept.length; k < MONTHS; k += 1) state.meterRows[k].period.value = '';
  }
  kept.forEach((line, k) => {
    const r = state.meterRows[k];
    r.energy.value = String(line.energy);
    r.demand.value = line.demand === null ? '' : String(line.demand);
  });
  refreshExistingLanguage(state);
  markStale(state);
  const n = kept.length;
  setBillStatus(state, () => [
    t(dated ? 'bill_filled_dated' : 'bill_filled', { n, first: state.meterRows[0].period.value }),
    dropped ? t('bill_dropped', { n: dropped }) : '',
    ...notes.map((x) => t(x.key, x.params)),
  ].filter(Boolean).join(' '));
}

/**
 * Add the existing customer's fields to `app`; client-side errors go to `errors` (each
 * naming its month). Returns nothing; `state.submitMeterRows` maps the readings sent back
 * to the table's rows (server errors name `meter_readings[k]`).
 */
export function collectExisting(state, app, errors, limits) {
  state.submitMeterRows = [];
  if (!isExisting(state)) return;
  app.application_type = $('#application_type').value;
  const fieldErr = (id, label, key, params = {}) => errors.push({ target: { kind: 'field', id }, label, message: () => t(key, params) });
  const capLabel = () => t('label_existing_capacity');
  const capRaw = $('#existing_capacity_kva').value;
  const cap = billNumber(capRaw);
  if (cap === null) fieldErr('existing_capacity_kva', capLabel, 'err_existing_capacity_required_short');
  else if (Number.isNaN(cap)) { fieldErr('existing_capacity_kva', capLabel, 'err_number'); app.existing_capacity_kva = capRaw.trim(); }
  else {
    if (cap < limits.capacity_kva_min) fieldErr('existing_capacity_kva', capLabel, 'err_min', { min: fmtNum(limits.capacity_kva_min) });
    else if (cap > limits.capacity_kva_max) fieldErr('existing_capacity_kva', capLabel, 'err_max', { max: fmtNum(limits.capacity_kva_max) });
    app.existing_capacity_kva = cap;
  }
  const readings = [];
  for (const r of state.meterRows) {
    const month = () => r.period.value.trim() || t('meter_month_n', { n: r.i + 1 });
    const energyRaw = r.energy.value;
    const demandRaw = r.demand.value;
    if (!energyRaw.trim() && !demandRaw.trim()) continue; // an empty month is not sent
    const reading = {};
    const period = normalisePeriod(r.period.value);
    if (!period) fieldErr(r.period.id, month, 'err_meter_period_short', { value: r.period.value.trim() });
    reading.period = period || r.period.value.trim();
    const energy = billNumber(energyRaw);
    if (energy === null) fieldErr(r.energy.id, month, 'err_meter_energy_required');
    else if (Number.isNaN(energy)) { fieldErr(r.energy.id, month, 'err_number'); reading.energy_kwh = energyRaw.trim(); }
    else {
      if (energy < 0) fieldErr(r.energy.id, month, 'err_meter_energy_negative');
      else if (energy > limits.energy_kwh_max) fieldErr(r.energy.id, month, 'err_max', { max: fmtNum(limits.energy_kwh_max) });
      reading.energy_kwh = energy;
    }
    const demand = billNumber(demandRaw);
    if (demand !== null) {
      if (Number.isNaN(demand)) { fieldErr(r.demand.id, month, 'err_number'); reading.max_demand_kw = demandRaw.trim(); }
      else {
        if (demand <= 0) fieldErr(r.demand.id, month, 'err_positive', { min: 0 });
        else if (demand > limits.peak_kw_max) fieldErr(r.demand.id, month, 'err_max', { max: fmtNum(limits.peak_kw_max) });
        reading.max_demand_kw = demand;
      }
    }
    readings.push(reading);
    state.submitMeterRows.push(r.i);
  }
  const min = limits.meter_months_min;
  if (readings.length < min) {
    errors.push({ target: { kind: 'meter' }, message: () => t('err_meter_too_few_months', { min, n: readings.length, kind: '' }) });
  }
  const seen = new Map();
  readings.forEach((rd, k) => {
    const first = seen.get(rd.period);
    if (first !== undefined && typeof rd.period === 'string' && rd.period) {
      const r = state.meterRows[state.submitMeterRows[k]];
      fieldErr(r.period.id, () => rd.period, 'err_meter_duplicate_period', { period: rd.period });
    } else seen.set(rd.period, k);
  });
  app.meter_readings = readings;
}

/** The table row a server error names (`meter_readings[k]…`, or a month in its params). */
export function meterTarget(state, field, params) {
  const m = String(field || '').match(/meter_readings\[(\d+)\](?:\.([a-z_]+))?/);
  let row = null;
  let part = 'energy';
  if (m) {
    row = state.meterRows[state.submitMeterRows[Number(m[1])]];
    if (m[2] === 'max_demand_kw') part = 'demand';
    else if (m[2] === 'period') part = 'period';
  } else if (params && params.period) {
    row = state.meterRows.find((r) => normalisePeriod(r.period.value) === params.period) || null;
  }
  if (!row) return { kind: 'meter' };
  return { kind: 'field', id: row[part].id };
}

/** A meter row's label for an error summary. */
export function meterLabel(state, id) {
  const r = state.meterRows.find((x) => [x.period.id, x.energy.id, x.demand.id].includes(id));
  return r ? (r.period.value.trim() || t('meter_month_n', { n: r.i + 1 })) : t('meter_title');
}
