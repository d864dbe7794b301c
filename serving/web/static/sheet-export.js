// Export of the calculation sheet (POST /export/sheet): after an answer, a card with the
// title block (工程名称, 户号, 用电地址, 申请单位, 设计, 校对, 审核, date) and one button per
// format (PDF, Word, Excel). The file is the server's; the title block is remembered in
// localStorage for the next sheet. The document's language follows the page unless the
// planner picks the other one (a Chinese document for filing, from the English page).

import { t, applyI18n, onLangChange, getLang } from './i18n.js';
import { $, h } from './dom.js';
import { MAX_AUTO_RETRIES, sendWithRetry } from './retry.js';

const STORAGE_KEY = 'capacity.sheetHeader';
const FIELDS = [
  ['project_name', 'export_project_name'],
  ['account_no', 'export_account_no'],
  ['address', 'export_address'],
  ['applicant', 'export_applicant'],
  ['designer', 'export_designer'],
  ['checker', 'export_checker'],
  ['reviewer', 'export_reviewer'],
  ['date', 'export_date'],
];
const FORMATS = [['pdf', 'export_pdf'], ['docx', 'export_docx'], ['xlsx', 'export_xlsx']];

let current = null;
/** What the planner typed, kept across re-renders (language switch, recalculation). */
const typed = {};

/** The document's language: the one picked in the card, else the page's. */
export function documentLang() {
  return typed.lang || getLang();
}


function stored() {
  try { return JSON.parse(localStorage.getItem(STORAGE_KEY) || '{}') || {}; } catch { return {}; }
}

function header() {
  const out = {};
  for (const [key] of FIELDS) {
    const v = $(`#export-${key}`).value.trim();
    if (v) out[key] = v;
  }
  return out;
}

async function exportAs(fmt) {
  if (!current) return;
  const status = $('#export-status');
  const head = header();
  try { localStorage.setItem(STORAGE_KEY, JSON.stringify({ ...head, date: undefined })); } catch { /* private mode */ }
  const body = { application: current.app, format: fmt, header: head, lang: documentLang() };
  if (current.kind === 'check') body.proposed_kva = current.data.proposed_kva;
  status.textContent = t('export_working');
  status.classList.remove('error');
  try {
    const { resp: r, failure } = await sendWithRetry(() => fetch('/export/sheet', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    }), { onWait: (s, k, max) => { status.textContent = t('status_busy_retrying', { s, k, max }); } });
    if (failure === 'busy') throw new Error(t('export_busy_gave_up', { n: MAX_AUTO_RETRIES }));
    if (failure === 'not_ready') throw new Error(t('err_not_ready'));
    if (!r.ok) {
      let detail = t('err_http', { status: r.status });
      try {
        const e = await r.json();
        if (Array.isArray(e.errors)) detail = e.errors.map((x) => `${x.field ?? ''}: ${x.message}`).join('; ');
      } catch { /* not JSON */ }
      throw new Error(detail);
    }
    const blob = await r.blob();
    const disposition = r.headers.get('content-disposition') || '';
    const m = /filename\*=UTF-8''([^;]+)/.exec(disposition);
    const name = m ? decodeURIComponent(m[1]) : `sheet.${fmt}`;
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    status.textContent = t('export_done', { name });
  } catch (err) {
    status.textContent = t('export_error', { detail: String(err.message || err) });
    status.classList.add('error');
  }
}

function card() {
  const saved = stored();
  const today = new Date().toISOString().slice(0, 10);
  return h('section', { id: 'export-card', class: 'card export-card no-print', 'aria-labelledby': 'export-title' }, [
    h('h3', { id: 'export-title', 'data-i18n': 'export_title', text: t('export_title') }),
    h('p', { class: 'hint small', 'data-i18n': 'export_help', text: t('export_help') }),
    h('div', { class: 'grid-fields export-fields' }, FIELDS.map(([key, label]) => h('div', { class: 'field' }, [
      h('label', { for: `export-${key}`, 'data-i18n': label, text: t(label) }),
      h('input', {
        id: `export-${key}`, autocomplete: 'off', type: key === 'date' ? 'date' : 'text',
        value: typed[key] ?? (key === 'date' ? today : (saved[key] || '')), maxlength: 200,
        oninput: (ev) => { typed[key] = ev.target.value; },
      }),
    ]))),
    h('div', { class: 'field export-lang' }, [
      h('label', { for: 'export-lang', 'data-i18n': 'export_doc_lang', text: t('export_doc_lang') }),
      h('select', {
        id: 'export-lang',
        onchange: (ev) => { typed.lang = ev.target.value; },
      }, [['zh', '中文'], ['en', 'English']].map(([code, name]) => h('option', {
        value: code, text: name, ...(code === documentLang() ? { selected: 'selected' } : {}),
      }))),
    ]),
    h('div', { class: 'form-actions' }, FORMATS.map(([fmt, label]) => h('button', {
      type: 'button', class: 'btn secondary', id: `export-${fmt}`, 'data-i18n': label, text: t(label), onclick: () => exportAs(fmt),
    }))),
    h('p', { id: 'export-status', class: 'status', role: 'status', 'aria-live': 'polite' }),
  ]);
}

function onResult(ev) {
  current = ev.detail;
  const results = $('#results');
  if (!results || !current) return;
  $('#export-card')?.remove();
  const sheet = results.querySelector('.card.sheet');
  const node = card();
  // Customer mode: the signing card sits with the sheet, one click away (not on view).
  const details = results.querySelector('#sheet-details');
  if (details && !document.body.classList.contains('planner')) details.append(node);
  else if (sheet) sheet.after(node);
  else results.append(node);
}

document.addEventListener('capacity:result', onResult);
onLangChange(() => {
  const c = $('#export-card');
  if (!c) return;
  applyI18n(c);
  const select = /** @type {HTMLSelectElement | null} */ ($('#export-lang'));
  if (select) select.value = documentLang();
});
