// What the server read from an equipment line (features/figures.py through /api/match):
// shown beside the line, used to fill the empty kW and quantity boxes (visibly, with the
// reason), and a typical rating OFFERED when the line names no power. The page never
// reads numbers out of a name itself: one parser, on the server, for every caller.

import { h } from './dom.js';
import { t, fmtNum } from './i18n.js';
import { parseNumber } from './csv.js';
import { markStale } from './state.js';
import { sendWithRetry } from './retry.js';

/** A kW box written with a unit ('60kVA', '750 W', '15HP'): the server reads it. */
export function hasUnit(raw) {
  return /^\s*[\d.,]+\s*[a-zA-Z\u4e00-\u9fff]{1,6}\s*$/.test(String(raw ?? ''));
}

/** One note of the figures as text in the page's language. */
export function noteText(note) {
  const p = note.params || {};
  switch (note.code) {
    case 'kva_converted': return t('fig_kva_converted', { kva: fmtNum(p.kva), pf: fmtNum(p.power_factor, 2), kw: fmtNum(p.kw, 2) });
    case 'unit_converted': return t('fig_unit_converted', { value: p.value, kw: fmtNum(p.kw, 2) });
    case 'range_upper': return t('fig_range_upper', { low: fmtNum(p.low), high: fmtNum(p.high) });
    case 'power_sum': return t('fig_power_sum', { total: fmtNum(p.total) });
    case 'total_divided': return t('fig_total_divided', { total: fmtNum(p.total), n: p.quantity, each: fmtNum(p.each, 2) });
    case 'duty_standby': return t('fig_duty_standby', { running: p.running, standby: p.standby });
    case 'unit_assumed_kw': return t('fig_unit_assumed_kw', { value: fmtNum(p.value) });
    case 'quantity_vague': return t('fig_quantity_vague');
    case 'decimal_comma': return t('fig_decimal_comma');
    default: return '';
  }
}

/**
 * Fill the boxes the customer left empty from what the name states: the kW when the box
 * is empty, the quantity when it still holds the untouched default. A box the customer
 * typed in is never changed. With 'N用M备' (some units standby) the whole row is not
 * marked standby; a split into running and standby rows is offered instead.
 */
export function applyFigures(state, row) {
  const f = row.match && row.match.figures;
  row.filled = null;
  if (!f) return;
  const r = row.refs;
  const filled = {};
  if (!r.kw.value.trim() && f.rated_kw) {
    r.kw.value = String(f.rated_kw);
    filled.kw = f.rated_kw;
  }
  if (f.quantity && !row.qtyTouched && (r.qty.value.trim() === '1' || !r.qty.value.trim()) && f.quantity !== 1) {
    r.qty.value = String(f.quantity);
    filled.qty = f.quantity;
  }
  if (f.standby_quantity && f.quantity && f.standby_quantity < f.quantity && row.standbyAuto) {
    // '2台（1台备用）': not all of them are spare.
    r.standby.checked = false;
    row.standbyAuto = null;
  }
  if (filled.kw || filled.qty) {
    row.filled = filled;
    markStale(state);
  }
}

/** The parts shown beside a line: what was read, how, and the offers. */
export function figuresParts(state, row, { onSplit, onTypical }) {
  const m = row.match;
  if (!m) return [];
  const f = m.figures;
  const parts = [];
  if (f && (f.rated_kw || f.kva || f.quantity || f.standby_quantity)) {
    const bits = [];
    if (f.rated_kw) bits.push(`${fmtNum(f.rated_kw, 2)} kW`);
    else if (f.kva) bits.push(`${fmtNum(f.kva)} kVA`);
    if (f.quantity) bits.push(t('fig_units', { n: f.quantity }));
    if (f.standby_quantity) bits.push(t('fig_standby_units', { n: f.standby_quantity }));
    const notes = (f.notes || []).map(noteText).filter(Boolean);
    const said = row.filled ? t('fig_filled', { what: bits.join(' × ') }) : t('fig_read', { what: bits.join(' × ') });
    parts.push(h('span', { class: 'eq-figures', text: [said, ...notes].join(' ') }));
    if (f.standby_quantity && f.quantity && f.standby_quantity < f.quantity && onSplit) {
      parts.push(' ', h('button', {
        type: 'button', class: 'btn tiny split-standby',
        text: t('btn_split_standby', { running: f.quantity - f.standby_quantity, standby: f.standby_quantity }),
        onclick: () => onSplit(f.quantity - f.standby_quantity, f.standby_quantity),
      }));
    }
  }
  if (m.typical_kw && !row.refs.kw.value.trim() && onTypical) {
    parts.push(' ', h('span', { class: 'eq-typical' }, [
      t('fig_typical', { kw: fmtNum(m.typical_kw) }), ' ',
      h('button', {
        type: 'button', class: 'btn tiny use-typical', text: t('btn_use_typical', { kw: fmtNum(m.typical_kw) }),
        onclick: () => onTypical(m.typical_kw),
      }),
    ]));
  }
  return parts;
}

/**
 * Ask the server to read a kW box written with a unit. The text sent as the name is the
 * chosen category code (its power factor converts kVA), else the line's name.
 */
export async function readRating(state, row, render) {
  const raw = row.refs.kw.value.trim();
  const plain = parseNumber(raw);
  if (!raw || (typeof plain === 'number' && !Number.isNaN(plain)) || !hasUnit(raw)) {
    row.rating = null;
    render();
    return;
  }
  const text = row.refs.cat.value || row.refs.name.value.trim() || 'other_motor';
  const seq = (row.ratingSeq = (row.ratingSeq || 0) + 1);
  try {
    const qs = new URLSearchParams({ text, rated_kw: raw });
    const r = (await sendWithRetry(() => fetch(`/api/match?${qs}`, { headers: { accept: 'application/json' } }))).resp;
    const body = await r.json();
    if (seq !== row.ratingSeq) return;
    row.rating = r.ok && body.rating ? { text: raw, ...body.rating } : { text: raw, rated_kw: null };
  } catch {
    if (seq === row.ratingSeq) row.rating = null;
  }
  render();
}

/** The kW of a box written with a unit, once the server read it (else undefined). */
export function ratingKw(row) {
  const raw = row.refs.kw.value.trim();
  if (row.rating && row.rating.text === raw && row.rating.rated_kw) return row.rating.rated_kw;
  return undefined;
}

/** The note under the kW box: how a unit was read ('60 kVA × cos φ 0.80 = 48 kW'). */
export function ratingNote(row) {
  const rt = row.rating;
  if (!rt || rt.text !== row.refs.kw.value.trim()) return '';
  if (!rt.rated_kw) return rt.kva ? t('fig_kva_needs_category', { kva: fmtNum(rt.kva) }) : t('fig_rating_unread');
  const notes = (rt.notes || []).map(noteText).filter(Boolean);
  return notes.length ? notes.join(' ') : t('fig_rating_kw', { kw: fmtNum(rt.rated_kw, 2) });
}
