// Sending the form to /recommend or /check and handling the answer.

import { $ } from './dom.js';
import { t, fmtKva } from './i18n.js';
import { setStatus } from './state.js';
import { collect, clearErrors, renderErrors, firstErrorInput, mapServerError } from './form.js';
import { renderResults } from './results.js';
import { MAX_AUTO_RETRIES, sendWithRetry } from './retry.js';

export async function onSubmit(state, ev) {
  if (ev) ev.preventDefault();
  if (state.busy || !state.catalog) return;
  clearErrors(state);
  const { app, proposed, errors, indexToRow } = collect(state);
  state.submitIndexToRow = indexToRow;
  if (errors.length && !state.serverChecksOnly) {
    state.errors = errors;
    renderErrors(state);
    setStatus(state, () => t('status_fix', { n: errors.length }));
    firstErrorInput(state).focus();
    return;
  }
  const planner = state.mode === 'planner';
  const url = planner ? '/check' : '/recommend';
  const body = planner ? { application: app, proposed_kva: proposed } : app;
  setBusy(state, true);
  setStatus(state, () => t('status_working'));
  let resp;
  let data;
  let failure;
  try {
    // Shed under load (busy, Retry-After): not broken. Said so, and asked again after the
    // wait the server named (the busy button stays disabled meanwhile).
    ({ resp, data, failure } = await sendWithRetry(() => fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    }), {
      onWait: (s, k, max) => setStatus(state, () => t('status_busy_retrying', { s, k, max })),
    }));
    if (!failure) { try { data = await resp.json(); } catch { data = null; } }
  } catch (err) {
    setBusy(state, false);
    state.errors = [{ target: { kind: 'general' }, message: () => t('err_network', { detail: String(err.message || err) }) }];
    renderErrors(state);
    setStatus(state, () => t('err_network', { detail: '' }));
    $('#error-summary').focus();
    return;
  }
  setBusy(state, false);
  if (failure === 'busy') {
    state.errors = [{ target: { kind: 'general' }, message: () => t('err_busy_gave_up', { n: MAX_AUTO_RETRIES }) }];
    renderErrors(state);
    setStatus(state, () => t('err_busy_gave_up', { n: MAX_AUTO_RETRIES }));
    $('#error-summary').focus();
    return;
  }
  if (failure === 'not_ready') {
    state.errors = [{ target: { kind: 'general' }, message: () => t('err_not_ready') }];
    renderErrors(state);
    setStatus(state, () => t('err_not_ready'));
    $('#error-summary').focus();
    return;
  }
  if (!resp.ok) {
    const errs = data && Array.isArray(data.errors) ? data.errors : [{ field: null, message: t('err_http', { status: resp.status }), expected: '' }];
    state.errors = errs.map((e) => ({ ...mapServerError(state, e), fromServer: true }));
    renderErrors(state);
    const n = state.errors.length;
    setStatus(state, () => t('status_server_errors', { n }));
    firstErrorInput(state).focus();
    return;
  }
  // Allowances the customer added from "similar customers usually also have": the
  // answer says it includes them.
  const included = [...new Set(state.rows.filter((r) => r.allowance && indexToRow.includes(r.id) && r.refs.cat.value === r.allowance).map((r) => r.allowance))];
  state.result = { kind: planner ? 'check' : 'recommend', data, app, rowIds: indexToRow.slice(), at: new Date(), included, industryText: $('#industry').value.trim() };
  renderResults(state);
  const rec = planner ? data.recommendation : data;
  setStatus(state, () => (planner
    ? t('status_check_done', { verdict: t(`verdict_${data.verdict}`), kva: fmtKva(data.proposed_kva), rec: fmtKva(rec.recommended_kva) })
    : t('status_done', { kva: fmtKva(rec.recommended_kva) })));
  const res = $('#results');
  res.scrollIntoView({ behavior: 'smooth', block: 'start' });
  res.focus({ preventScroll: true });
}

export function setBusy(state, busy) {
  state.busy = busy;
  const btn = $('#submit-btn');
  btn.disabled = busy;
  btn.setAttribute('aria-busy', busy ? 'true' : 'false');
  btn.textContent = busy ? t('btn_working') : t(state.mode === 'planner' ? 'btn_check' : 'btn_recommend');
  $('#results').setAttribute('aria-busy', busy ? 'true' : 'false');
}
