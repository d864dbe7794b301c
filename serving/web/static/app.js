// The application page: wires the modules together. Plain ES modules, no framework.
//
// State is one object made by createState() in main() and passed explicitly to every
// function that reads or changes it (window.capacityPage exposes it for tests).

import { $ } from './dom.js';
import { t, getLang, setLang, applyI18n, catName, onLangChange } from './i18n.js';
import { createState, markStale } from './state.js';
import { loadCatalog, renderPickers, resolveIndustry, scheduleIndustryMatch, updateIndustryHint } from './catalog.js';
import { addRow, renumberRows, clearRows, rowIsEmpty } from './rows.js';
import { setImportStatus, onCsvFile, onPasteAdd, onRowsPaste, renderPasteReasons } from './importer.js';
import { resetForm, renderErrors } from './form.js';
import { onSubmit, setBusy } from './submit.js';
import { renderResults, drawCharts } from './results.js';
import { initExisting, refreshExistingLanguage } from './existing.js';

export function setMode(state, mode) {
  state.mode = mode;
  $('#mode-customer').setAttribute('aria-pressed', String(mode === 'customer'));
  $('#mode-planner').setAttribute('aria-pressed', String(mode === 'planner'));
  document.querySelectorAll('.planner-only').forEach((el) => { el.hidden = mode !== 'planner'; });
  document.body.classList.toggle('planner', mode === 'planner');
  $('#submit-btn').textContent = t(mode === 'planner' ? 'btn_check' : 'btn_recommend');
  try { localStorage.setItem('capacity.mode', mode); } catch { /* private mode */ }
  // The answer shows what the mode needs (the sheet open for a planner, folded for a customer).
  if (state.result) renderResults(state);
}

export function refreshLanguage(state) {
  applyI18n();
  const btn = $('#lang-toggle');
  const other = getLang() === 'zh' ? 'en' : 'zh';
  btn.textContent = other === 'en' ? 'English' : '中文';
  btn.setAttribute('lang', other === 'en' ? 'en' : 'zh-CN');
  btn.setAttribute('aria-label', other === 'en' ? 'Switch to English' : '切换到中文');
  if (!state.catalog) return;
  renderPickers(state);
  renumberRows(state);
  setMode(state, state.mode);
  if (state.errors.length) renderErrors(state);
  const stale = $('#stale-note') && !$('#stale-note').hidden;
  renderResults(state);
  if (stale) markStale(state);
  if (state.busy) setBusy(state, true);
  if (state.status) $('#status').textContent = state.status();
  if (state.importStatus) $('#import-status').textContent = state.importStatus.fn();
  renderPasteReasons(state);
  refreshExistingLanguage(state);
}

/**
 * Enter in a field moves to the next field instead of sending a half-filled form (a
 * datalist pick, a number typed, a name typed); Ctrl/Cmd+Enter sends it. Buttons,
 * selects and the paste box keep their own Enter.
 */
function onFormKeydown(state, ev) {
  if (ev.key !== 'Enter' || ev.isComposing) return;
  const el = ev.target;
  if (!(el instanceof HTMLInputElement) || ['checkbox', 'file', 'submit', 'button'].includes(el.type)) return;
  ev.preventDefault();
  if (ev.ctrlKey || ev.metaKey) {
    $('#app-form').requestSubmit();
    return;
  }
  const fields = [...$('#app-form').querySelectorAll('input, select, textarea, button')]
    .filter((f) => !f.disabled && f.offsetParent !== null && f.type !== 'hidden' && !f.closest('[hidden]'));
  const next = fields[fields.indexOf(el) + 1];
  if (next) next.focus();
}

async function main() {
  const state = createState();
  // Exposed for debugging and tests.
  window.capacityPage = state;
  refreshLanguage(state);
  if (!(await loadCatalog(state))) return;
  try { const m = localStorage.getItem('capacity.mode'); if (m === 'planner') state.mode = 'planner'; } catch { /* ignore */ }
  renderPickers(state);
  initExisting(state);
  setMode(state, state.mode);
  renumberRows(state);
  addRow(state, {}, { match: false });
  updateIndustryHint(state);

  $('#lang-toggle').addEventListener('click', () => setLang(getLang() === 'zh' ? 'en' : 'zh'));
  onLangChange(() => refreshLanguage(state));
  $('#mode-customer').addEventListener('click', () => setMode(state, 'customer'));
  $('#mode-planner').addEventListener('click', () => { setMode(state, 'planner'); $('#proposed_kva').focus(); });
  const form = $('#app-form');
  form.addEventListener('submit', (ev) => onSubmit(state, ev));
  form.addEventListener('reset', (ev) => {
    if (!resetForm(state)) { ev.preventDefault(); return; }
    setTimeout(() => { addRow(state, {}, { match: false }); updateIndustryHint(state); }, 0);
  });
  form.addEventListener('input', () => markStale(state));
  form.addEventListener('change', () => markStale(state));
  $('#industry').addEventListener('input', () => scheduleIndustryMatch(state));
  $('#industry').addEventListener('change', () => {
    // A code typed in ("machinery") becomes the name; a word people use stays as typed.
    const typed = $('#industry').value.trim();
    const code = resolveIndustry(state, typed);
    if (code && typed.toLowerCase() === code) $('#industry').value = catName(state.industries.get(code));
    updateIndustryHint(state);
  });
  form.addEventListener('keydown', (ev) => onFormKeydown(state, ev));
  $('#add-row').addEventListener('click', () => addRow(state, {}, { focus: 'name', match: false }));
  $('#add-category-btn').addEventListener('click', () => {
    const code = $('#add-category').value;
    addRow(state, { category: code, name: '' }, { focus: 'kw', match: false });
    markStale(state);
  });
  $('#clear-rows').addEventListener('click', () => {
    if (state.rows.some((r) => !rowIsEmpty(r)) && !window.confirm(t('confirm_clear'))) return;
    clearRows(state);
    markStale(state);
    setImportStatus(state, () => t('rows_cleared'));
    $('#add-row').focus();
  });
  $('#paste-add').addEventListener('click', () => onPasteAdd(state));
  $('#csv-file').addEventListener('change', (ev) => onCsvFile(state, ev));
  $('#eq-rows').addEventListener('paste', (ev) => onRowsPaste(state, ev));

  let resizeTimer = null;
  const ro = new ResizeObserver(() => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => drawCharts(state, true), 120); });
  ro.observe($('#main'));
  window.addEventListener('beforeprint', () => drawCharts(state, true));
  document.body.dataset.ready = 'true';
}

main();
