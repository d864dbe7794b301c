// Equipment lines from a pasted table or an uploaded CSV.

import { $, h } from './dom.js';
import { t } from './i18n.js';
import { decodeFile, parseCSV, tableToEquipment, pastedToEquipment } from './csv.js';
import { markStale } from './state.js';
import { addRow, scheduleMatch, clearRows, rowIsEmpty, matchRows, applyStandbyFromName } from './rows.js';

/** The import/list status line; `msg` may be a function so that it follows the language. */
export function setImportStatus(state, msg, isError = false) {
  state.importStatus = { fn: typeof msg === 'function' ? msg : () => msg, isError };
  const el = $('#import-status');
  el.textContent = state.importStatus.fn();
  el.classList.toggle('error-text', isError);
}

/**
 * Add imported items as rows. The limit means what it says: an untouched empty row is
 * replaced first, then up to max_equipment_lines rows are added; the lines that do not
 * fit go back into the paste area, each with its reason, and nothing is dropped. The
 * names of the new rows are matched in one request.
 */
export function importItems(state, result, source, extra = [], filledInPlace = 0) {
  const { items, notes, customers } = result;
  const sources = result.sources || [];
  let list = items.map((it, k) => ({ it, line: k, text: sources[k] }));
  const msgs = []; // [key, params]
  if (customers && customers.length > 1) {
    list = list.filter(({ it }) => it.customer_id === customers[0]);
    msgs.push(['import_many_customers', { n: customers.length, id: customers[0] }]);
  }
  // A single untouched empty row is replaced rather than kept above the import.
  const replaceEmpty = list.length && state.rows.length === 1 && rowIsEmpty(state.rows[0]);
  const max = state.catalog.max_equipment_lines;
  const room = max - (replaceEmpty ? 0 : state.rows.length);
  let leftover = [];
  if (list.length > room) {
    leftover = list.slice(Math.max(0, room));
    list = list.slice(0, Math.max(0, room));
    msgs.push(['import_truncated', { n: leftover.length, max }]);
    msgs.push(['import_kept', { n: leftover.length }]);
  }
  if (replaceEmpty && list.length) clearRows(state);
  const added = [];
  for (const { it } of list) {
    const row = addRow(state, it, { match: false });
    if (row) added.push(row);
  }
  keepLeftover(state, leftover, result.header, max);
  for (const n of notes || []) msgs.push([n.key, n.params || {}]);
  const n = added.length;
  msgs.unshift(n ? ['import_added', { n: n + filledInPlace }] : ['import_nothing', {}]);
  if (n) msgs.push(...extra);
  setImportStatus(state, () => msgs.map(([key, params]) => t(key, { source: t(`source_${source}`), ...params })).join(' '), !n);
  if (n) markStale(state);
  if (added.length) matchRows(state, added);
  return { added: n, leftover: leftover.length };
}

/** Lines that were not loaded: back into the paste area (header first), with reasons. */
function keepLeftover(state, leftover, header, max) {
  const area = $('#paste-area');
  const reasons = $('#paste-reasons');
  state.pasteReasons = leftover.map(({ line }) => ({ key: 'paste_reason_limit', params: { line: line + 1, max } }));
  if (!leftover.length) {
    reasons.hidden = true;
    reasons.replaceChildren();
    return;
  }
  area.value = [header, ...leftover.map((l) => l.text)].filter((x) => x != null).join('\n');
  $('#paste-details').open = true;
  renderPasteReasons(state);
}

/** The reasons of the lines left in the paste area (follows the language). */
export function renderPasteReasons(state) {
  const reasons = $('#paste-reasons');
  const list = state.pasteReasons || [];
  reasons.hidden = list.length === 0;
  reasons.replaceChildren(...list.slice(0, 200).map((r) => h('li', { text: t(r.key, r.params) })));
  if (list.length > 200) reasons.append(h('li', { text: '…' }));
}

export async function onCsvFile(state, ev) {
  const file = ev.target.files && ev.target.files[0];
  if (!file) return;
  try {
    const { text, encoding } = await decodeFile(file);
    const rows = parseCSV(text);
    importItems(state, tableToEquipment(rows, state.catalog.categories, state.catalog.boolean_words), 'csv', [['import_encoding', { enc: encoding, file: file.name }]]);
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
  const res = importItems(state, pastedToEquipment(area.value, state.catalog.categories, state.catalog.boolean_words), 'paste');
  // Everything loaded: the box is emptied; otherwise it holds what did not load.
  if (res.added && !res.leftover) area.value = '';
}

export function onRowsPaste(state, ev) {
  const target = ev.target;
  if (!(target instanceof HTMLInputElement) || !target.classList.contains('eq-name-input')) return;
  const text = ev.clipboardData ? ev.clipboardData.getData('text/plain') : '';
  if (!text || !(text.includes('\t') || /\r|\n/.test(text.trim()))) return; // a plain name: let it paste
  ev.preventDefault();
  const row = state.rows.find((r) => r.refs.name === target);
  const parsed = pastedToEquipment(text, state.catalog.categories, state.catalog.boolean_words);
  if (row && rowIsEmpty(row) && parsed.items.length) {
    const first = parsed.items.shift();
    row.refs.name.value = first.name || '';
    row.refs.cat.value = first.category || '';
    row.refs.kw.value = first.rated_kw || '';
    row.refs.qty.value = first.quantity || '1';
    row.refs.standby.checked = Boolean(first.standby);
    applyStandbyFromName(state, row);
    scheduleMatch(state, row, 0);
    if (parsed.sources) parsed.sources.shift();
    if (parsed.items.length) importItems(state, parsed, 'paste', [], 1);
    else setImportStatus(state, () => t('import_added', { n: 1, source: t('source_paste') }));
  } else {
    importItems(state, parsed, 'paste');
  }
}
