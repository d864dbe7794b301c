// The equipment editor: one row per equipment line, with live name matching.

import { $, h } from './dom.js';
import { t, fmtNum, fmtPct, catName } from './i18n.js';
import { parseNumber } from './csv.js';
import { markStale } from './state.js';
import { categoryOptions } from './catalog.js';
import { setImportStatus } from './importer.js';
import { applyFigures, figuresParts, readRating, ratingNote, hasUnit } from './figures.js';
import { sendWithRetry } from './retry.js';

export const MATCH_DEBOUNCE_MS = 300;

export function addRow(state, item = {}, { focus = null, match = true } = {}) {
  const max = state.catalog.max_equipment_lines;
  if (state.rows.length >= max) {
    setImportStatus(state, () => t('err_too_many_rows', { max }), true);
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
  refs.standbyNote = h('div', { id: `${p}-standby-note`, class: 'eq-standby-note', 'aria-live': 'polite', hidden: true });
  refs.catLabel = h('label', { for: `${p}-cat`, class: 'cell-label' });
  refs.cat = h('select', { id: `${p}-cat`, 'aria-describedby': `${p}-cat-error` }, categoryOptions(state, true));
  refs.kwLabel = h('label', { for: `${p}-kw`, class: 'cell-label' });
  refs.kw = h('input', { id: `${p}-kw`, inputmode: 'text', autocomplete: 'off', 'aria-describedby': `${p}-kw-note ${p}-kw-error` });
  refs.kwNote = h('div', { id: `${p}-kw-note`, class: 'eq-kw-note', 'aria-live': 'polite', hidden: true });
  refs.qtyLabel = h('label', { for: `${p}-qty`, class: 'cell-label' });
  refs.qty = h('input', { id: `${p}-qty`, inputmode: 'numeric', autocomplete: 'off', 'aria-describedby': `${p}-qty-error` });
  // Planner-only details the calculation sheet uses: duty cycle (暂载率) and phase.
  refs.dutyLabel = h('label', { for: `${p}-duty`, class: 'cell-label' });
  refs.duty = h('input', { id: `${p}-duty`, class: 'eq-duty', inputmode: 'decimal', autocomplete: 'off', size: 4, 'aria-describedby': `${p}-duty-error` });
  refs.phaseLabel = h('label', { for: `${p}-phase`, class: 'cell-label' });
  refs.phase = h('select', { id: `${p}-phase`, class: 'eq-phase' }, ['', 'A', 'B', 'C', 'AB', 'BC', 'CA'].map((v) => h('option', { value: v, text: v })));
  refs.standby = h('input', { id: `${p}-standby`, type: 'checkbox' });
  refs.standbyLabel = h('label', { for: `${p}-standby` });
  refs.remove = h('button', { type: 'button', class: 'btn ghost remove' });
  // Existing customers: the line is added by this application or taken out of service.
  refs.changeLabel = h('label', { for: `${p}-change`, class: 'cell-label change-label' });
  refs.change = h('select', { id: `${p}-change`, class: 'eq-change-select' }, [
    h('option', { value: 'add' }), h('option', { value: 'remove' }),
  ]);
  refs.changeBox = h('div', { class: 'eq-change existing-only', hidden: state.appKind !== 'existing' }, [refs.changeLabel, refs.change]);
  const el = h('div', { class: 'eq-row', role: 'group', 'aria-labelledby': `${p}-title`, 'data-row-id': id }, [
    refs.idx,
    h('div', { class: 'eq-cell eq-name' }, [
      refs.nameLabel, refs.name, refs.match, refs.standbyNote, refs.changeBox, err('name'),
      h('div', { class: 'eq-extra planner-only', hidden: state.mode !== 'planner' }, [refs.dutyLabel, refs.duty, ' ', refs.phaseLabel, refs.phase, err('duty')]),
    ]),
    h('div', { class: 'eq-cell eq-cat' }, [refs.catLabel, refs.cat, err('cat')]),
    h('div', { class: 'eq-cell eq-kw' }, [refs.kwLabel, refs.kw, refs.kwNote, err('kw')]),
    h('div', { class: 'eq-cell eq-qty' }, [refs.qtyLabel, refs.qty, err('qty')]),
    h('div', { class: 'eq-cell eq-standby' }, [refs.standby, refs.standbyLabel]),
    h('div', { class: 'eq-cell eq-remove' }, [refs.remove]),
  ]);
  const row = {
    id, el, refs, match: null, matchState: 'idle', seq: 0, timer: null, matchedText: null,
    standbyAuto: null, standbyUndone: false, allowance: item.allowance || null,
  };
  refs.name.value = item.name ?? '';
  refs.cat.value = item.category && state.categories.has(item.category) ? item.category : '';
  refs.kw.value = item.rated_kw ?? '';
  refs.qty.value = item.quantity ?? '1';
  refs.standby.checked = Boolean(item.standby);
  refs.change.value = item.change === 'remove' ? 'remove' : 'add';
  refs.duty.value = item.duty_cycle != null && item.duty_cycle !== '' ? String(Math.round(Number(item.duty_cycle) * 1000) / 10) : '';
  refs.phase.value = item.phase || '';
  refs.name.addEventListener('input', () => { scheduleMatch(state, row); applyStandbyFromName(state, row); });
  refs.standby.addEventListener('change', () => {
    // The customer decides: a box they set themselves is never changed by the name.
    row.standbyAuto = null;
    row.standbyUndone = true;
    renderStandbyNote(state, row);
  });
  refs.kw.addEventListener('change', () => {
    if (!refs.cat.value && refs.name.value.trim()) scheduleMatch(state, row, 0);
    readRating(state, row, () => renderKwNote(row));
  });
  refs.qty.addEventListener('input', () => { row.qtyTouched = true; });
  refs.cat.addEventListener('change', () => {
    renderMatch(state, row);
    if (hasUnit(refs.kw.value)) readRating(state, row, () => renderKwNote(row));
  });
  refs.remove.addEventListener('click', () => removeRow(state, row));
  state.rows.push(row);
  $('#eq-rows').append(el);
  refreshRowLanguage(state, row);
  renumberRows(state);
  applyStandbyFromName(state, row);
  if (hasUnit(refs.kw.value)) readRating(state, row, () => renderKwNote(row));
  if (match && refs.name.value.trim() && !refs.cat.value) scheduleMatch(state, row, 0);
  else renderMatch(state, row);
  if (focus) refs[focus].focus();
  return row;
}

export function removeRow(state, row) {
  const i = state.rows.indexOf(row);
  if (i < 0) return;
  clearTimeout(row.timer);
  row.el.remove();
  state.rows.splice(i, 1);
  renumberRows(state);
  markStale(state);
  // Keep the keyboard user in the list: focus the next row's remove button, else the add button.
  const next = state.rows[i] || state.rows[i - 1];
  (next ? next.refs.remove : $('#add-row')).focus();
  setImportStatus(state, () => t('row_removed', { n: i + 1 }));
}

export function renumberRows(state) {
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

export function refreshRowLanguage(state, row) {
  const r = row.refs;
  r.nameLabel.textContent = t('col_name');
  r.name.placeholder = t('ph_eq_name');
  r.catLabel.textContent = t('col_category');
  const v = r.cat.value;
  r.cat.replaceChildren(...categoryOptions(state, true));
  r.cat.value = v;
  r.kwLabel.textContent = t('col_kw');
  r.kw.placeholder = t('ph_kw');
  r.qtyLabel.textContent = t('col_qty');
  r.standbyLabel.textContent = t('col_standby');
  r.dutyLabel.textContent = t('col_duty');
  r.phaseLabel.textContent = t('col_phase');
  r.phase.options[0].textContent = t('phase_three');
  r.remove.textContent = t('btn_remove');
  r.changeLabel.textContent = t('col_change');
  r.change.options[0].textContent = t('change_add');
  r.change.options[1].textContent = t('change_remove');
  renderMatch(state, row);
  renderStandbyNote(state, row);
}

/** The standby word in `name` (备用, 备机, 冷备, spare, standby…), or null. */
export function standbyWord(state, name) {
  const low = String(name || '').toLowerCase();
  return (state.catalog.standby_words || []).find((w) => low.includes(w.toLowerCase())) || null;
}

/**
 * A name that says 备用/spare ticks the standby box, visibly and with an undo; once the
 * customer sets the box or undoes it, the name no longer changes it.
 */
export function applyStandbyFromName(state, row) {
  if (row.standbyUndone) return;
  const word = standbyWord(state, row.refs.name.value);
  if (word && !row.refs.standby.checked) {
    row.refs.standby.checked = true;
    row.standbyAuto = word;
    markStale(state);
  } else if (!word && row.standbyAuto) {
    row.refs.standby.checked = false;
    row.standbyAuto = null;
    markStale(state);
  } else if (word && row.standbyAuto) {
    row.standbyAuto = word;
  }
  renderStandbyNote(state, row);
}

function renderStandbyNote(state, row) {
  const note = row.refs.standbyNote;
  if (!row.standbyAuto) { note.hidden = true; note.replaceChildren(); return; }
  note.hidden = false;
  note.replaceChildren(
    t('standby_from_name', { word: row.standbyAuto }), ' ',
    h('button', {
      type: 'button', class: 'btn tiny standby-undo', text: t('btn_undo'),
      'aria-label': t('standby_undo_aria', { n: rowNumber(state, row) }),
      onclick: () => {
        row.refs.standby.checked = false;
        row.standbyAuto = null;
        row.standbyUndone = true;
        renderStandbyNote(state, row);
        markStale(state);
        setImportStatus(state, () => t('standby_undone', { n: rowNumber(state, row) }));
        row.refs.standby.focus();
      },
    }),
  );
}

/**
 * Match the names of many rows in one request (a paste or an upload), instead of one
 * request per row; rows whose request fails fall back to matching one by one.
 */
export async function matchRows(state, rows) {
  const todo = rows.filter((row) => row.refs.name.value.trim() && !row.refs.cat.value && row.refs.name.value.trim().length <= 200);
  if (!todo.length) return;
  for (const row of todo) { clearTimeout(row.timer); row.seq += 1; row.matchState = 'pending'; renderMatch(state, row); }
  const seqs = todo.map((row) => row.seq);
  const items = todo.map((row) => {
    const kw = parseNumber(row.refs.kw.value);
    // A box written with a unit ('60kVA') is sent as written: the server reads it.
    const rated = typeof kw === 'number' && Number.isFinite(kw) && kw > 0 ? kw : (hasUnit(row.refs.kw.value) ? row.refs.kw.value.trim() : null);
    return { text: row.refs.name.value.trim(), rated_kw: rated };
  });
  try {
    const { resp: r } = await sendWithRetry(() => fetch('/api/match', {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ items }),
    }));
    const body = await r.json();
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    todo.forEach((row, k) => {
      if (row.seq !== seqs[k]) return; // edited meanwhile: its own match is on its way
      row.match = body.results[k];
      row.matchedText = items[k].text;
      row.matchState = 'done';
      applyFigures(state, row);
      renderMatch(state, row);
    });
  } catch {
    todo.forEach((row, k) => { if (row.seq === seqs[k]) scheduleMatch(state, row, 0); });
  }
}

/**
 * Add the typical load of a category most similar customers list (offered by the
 * answer): a row marked as an allowance, so the next answer says it includes it.
 */
export function addAllowance(state, missing) {
  const cat = state.categories.get(missing.category);
  const name = t('allowance_name', { name: catName(cat) });
  const kw = Math.max(1, Math.round(missing.typical_kw));
  const row = addRow(state, { category: missing.category, name, rated_kw: String(kw), quantity: '1', allowance: missing.category }, { match: false });
  if (!row) return;
  markStale(state);
  setImportStatus(state, () => t('status_allowance_added', { name: catName(cat), kw: `${fmtNum(kw, 0)} kW` }));
  row.refs.kw.focus();
  row.el.scrollIntoView({ block: 'center' });
}

/** Whether `row` has a name that matched no category (well enough) and no category chosen. */
export function rowUnmatched(state, row) {
  if (row.refs.cat.value || row.matchState !== 'done' || !row.match) return false;
  const m = row.match;
  return !m.category || m.confidence < state.catalog.min_match_confidence;
}

function chooseCategory(state, row, code) {
  row.refs.cat.value = code;
  markStale(state);
  renderMatch(state, row);
  const err = $(`#eq-${row.id}-cat-error`);
  if (err) { err.hidden = true; err.textContent = ''; }
  row.refs.cat.removeAttribute('aria-invalid');
  row.el.classList.remove('has-error');
  row.refs.cat.focus();
}

/** Three guesses and the two "count as other load" choices for an unmatched name. */
function unmatchedChoices(state, row) {
  const n = rowNumber(state, row);
  const guesses = (row.match.candidates || []).map((c) => c.code)
    .filter((c) => state.categories.has(c) && c !== row.match.category && c !== 'other_motor' && c !== 'other_heating');
  const button = (code, label, cls = '') => h('button', {
    type: 'button', class: `btn tiny ${cls}`, 'data-choose': code, text: label,
    'aria-label': t('btn_guess_aria', { n, name: label }), onclick: () => chooseCategory(state, row, code),
  });
  const parts = [];
  if (guesses.length) {
    parts.push(h('span', { class: 'choices' }, [t('match_guesses'), ' ', ...guesses.slice(0, 3).flatMap((c) => [button(c, catName(state.categories.get(c)), 'guess'), ' '])]));
  }
  parts.push(h('span', { class: 'choices' }, [
    t('match_count_as'), ' ',
    button('other_motor', t('btn_count_other_motor'), 'count-as'), ' ',
    button('other_heating', t('btn_count_other_heating'), 'count-as'),
  ]));
  return parts;
}

export function scheduleMatch(state, row, delay = MATCH_DEBOUNCE_MS) {
  clearTimeout(row.timer);
  const text = row.refs.name.value.trim();
  row.seq += 1;
  if (!text) {
    row.match = null;
    row.matchState = 'idle';
    renderMatch(state, row);
    return;
  }
  if (text.length > 200) {
    row.matchState = 'toolong';
    renderMatch(state, row);
    return;
  }
  // Same text again (only the kW changed, which matters for chargers): keep showing the
  // last result while asking, so the row does not jump under the pointer.
  if (!(row.matchState === 'done' && row.matchedText === text)) {
    row.matchState = 'pending';
    renderMatch(state, row);
  }
  const seq = row.seq;
  row.timer = setTimeout(async () => {
    const kw = parseNumber(row.refs.kw.value);
    const qs = new URLSearchParams({ text });
    if (typeof kw === 'number' && Number.isFinite(kw) && kw > 0) qs.set('rated_kw', String(kw));
    try {
      const r = (await sendWithRetry(() => fetch(`/api/match?${qs}`, { headers: { accept: 'application/json' } }))).resp;
      const body = await r.json();
      if (seq !== row.seq) return; // a newer keystroke is on its way
      if (!r.ok) throw new Error(body?.errors?.[0]?.message || `HTTP ${r.status}`);
      row.match = body;
      row.matchedText = text;
      row.matchState = 'done';
      applyFigures(state, row);
    } catch {
      if (seq !== row.seq) return;
      row.matchState = 'error';
    }
    renderMatch(state, row);
  }, delay);
}

export function renderMatch(state, row) {
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
    } else if (cat && m.confidence >= state.catalog.min_match_confidence && !m.guess) {
      box.classList.add('suggest');
      parts.push(h('span', {}, [t('match_auto'), ' ', h('strong', { text: catName(cat) }), ` · ${t('confidence')} ${conf}`]));
      if (m.rated_kw_hint && !row.refs.kw.value.trim()) parts.push(h('span', { class: 'muted', text: ` ${t('match_kw_hint', { kw: fmtNum(m.rated_kw_hint) })}` }));
      parts.push(' ', h('button', { type: 'button', class: 'btn tiny', text: t('btn_accept'), 'aria-label': t('btn_accept_aria', { name: catName(cat), n: rowNumber(state, row) }), onclick: () => acceptMatch(state, row) }));
    } else if (cat) {
      // Too weak to count, or a guess (a tie, a typo corrected: the server's guess field).
      box.classList.add('warn');
      parts.push(h('span', {}, [t('match_low', { name: catName(cat), conf })]));
      parts.push(' ', h('button', { type: 'button', class: 'btn tiny', text: t('btn_accept'), 'aria-label': t('btn_accept_aria', { name: catName(cat), n: rowNumber(state, row) }), onclick: () => acceptMatch(state, row) }));
      parts.push(' ', ...unmatchedChoices(state, row));
    } else {
      box.classList.add('warn');
      parts.push(t('match_none'), ' ', ...unmatchedChoices(state, row));
    }
  }
  if (row.matchState === 'done' && m) {
    const extra = figuresParts(state, row, {
      onSplit: row.splitDone ? null : (running, standby) => splitStandby(state, row, running, standby),
      onTypical: (kw) => {
        row.refs.kw.value = String(kw);
        markStale(state);
        renderMatch(state, row);
        row.refs.kw.focus();
      },
    });
    if (extra.length) parts.push(h('div', { class: 'eq-figures-line' }, extra));
  }
  box.replaceChildren(...parts);
  box.hidden = parts.length === 0;
  renderKwNote(row);
}

/** The note under the kW box: how a power written with a unit was read. */
function renderKwNote(row) {
  const note = row.refs.kwNote;
  const text = ratingNote(row);
  note.textContent = text;
  note.hidden = !text;
}

/** '2台（1台备用）': this row keeps the running units, a new row holds the standby ones. */
function splitStandby(state, row, running, standby) {
  row.splitDone = true;
  row.refs.qty.value = String(running);
  row.qtyTouched = true;
  row.refs.standby.checked = false;
  row.standbyAuto = null;
  row.standbyUndone = true;
  const r = row.refs;
  const twin = addRow(state, { name: r.name.value, category: r.cat.value, rated_kw: r.kw.value, quantity: String(standby), standby: true });
  if (twin) { twin.qtyTouched = true; twin.splitDone = true; }
  markStale(state);
  renderMatch(state, row);
  setImportStatus(state, () => t('status_split_standby', { n: rowNumber(state, row), running, standby }));
}

export function rowNumber(state, row) {
  return state.rows.indexOf(row) + 1;
}

export function acceptMatch(state, row) {
  const m = row.match;
  if (!m || !m.category) return;
  row.refs.cat.value = m.category;
  if (m.rated_kw_hint && !row.refs.kw.value.trim()) row.refs.kw.value = String(m.rated_kw_hint);
  markStale(state);
  renderMatch(state, row);
  row.refs.cat.focus();
}

export function clearRows(state) {
  for (const row of state.rows) { clearTimeout(row.timer); row.el.remove(); }
  state.rows = [];
  renumberRows(state);
}

export function rowIsEmpty(row) {
  const r = row.refs;
  return !r.name.value.trim() && !r.cat.value && !r.kw.value.trim() && (r.qty.value.trim() === '1' || !r.qty.value.trim()) && !r.standby.checked;
}
