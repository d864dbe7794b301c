// Equipment lines from a pasted table or an uploaded CSV.

import { $ } from './dom.js';
import { t } from './i18n.js';
import { decodeFile, parseCSV, tableToEquipment, pastedToEquipment } from './csv.js';
import { markStale } from './state.js';
import { addRow, scheduleMatch, clearRows, rowIsEmpty } from './rows.js';

/** The import/list status line; `msg` may be a function so that it follows the language. */
export function setImportStatus(state, msg, isError = false) {
  state.importStatus = { fn: typeof msg === 'function' ? msg : () => msg, isError };
  const el = $('#import-status');
  el.textContent = state.importStatus.fn();
  el.classList.toggle('error-text', isError);
}

export function importItems(state, result, source, extra = [], filledInPlace = 0) {
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
  if (list.length && state.rows.length === 1 && rowIsEmpty(state.rows[0])) clearRows(state);
  for (const it of list) addRow(state, it, { match: true });
  for (const n of notes || []) msgs.push([n.key, n.params || {}]);
  const n = list.length;
  msgs.unshift(n ? ['import_added', { n: n + filledInPlace }] : ['import_nothing', {}]);
  if (n) msgs.push(...extra);
  setImportStatus(state, () => msgs.map(([key, params]) => t(key, { source: t(`source_${source}`), ...params })).join(' '), !n);
  if (n) markStale(state);
  return n;
}

export async function onCsvFile(state, ev) {
  const file = ev.target.files && ev.target.files[0];
  if (!file) return;
  try {
    const { text, encoding } = await decodeFile(file);
    const rows = parseCSV(text);
    importItems(state, tableToEquipment(rows, state.catalog.categories), 'csv', [['import_encoding', { enc: encoding, file: file.name }]]);
  } catch (err) {
    const detail = String(err.message || err);
    setImportStatus(state, () => t('import_failed', { detail }), true);
  }
  $('#csv-file-name').textContent = file.name;
  $('#csv-file-name').removeAttribute('data-i18n');
  ev.target.value = '';
}

export function onPasteAdd(state) {
  const area = $('#paste-area');
  if (!area.value.trim()) {
    setImportStatus(state, () => t('import_paste_empty'), true);
    area.focus();
    return;
  }
  if (importItems(state, pastedToEquipment(area.value, state.catalog.categories), 'paste')) area.value = '';
}

export function onRowsPaste(state, ev) {
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
    scheduleMatch(state, row, 0);
    if (parsed.items.length) importItems(state, parsed, 'paste', [], 1);
    else setImportStatus(state, () => t('import_added', { n: 1, source: t('source_paste') }));
  } else {
    importItems(state, parsed, 'paste');
  }
}
