// The planner's choices for the demand-coefficient sheet (Application.design): K∑p,
// K∑q, load class, growth allowance, motor-start limit, capacitor step and per-category
// Kx / cos φ overrides. Rendered as a collapsible box in the form; after an answer the
// sheet's Kx and cos φ cells become editable and "recalculate" re-submits the form with
// them. Also shows the sheet's supply plan, motor-start check and single-phase
// conversion under the sheet. Only the calculation sheet uses these; the model does not.

import { t, applyI18n, onLangChange, fmtNum, fmtPct, catName } from './i18n.js';
import { $, h } from './dom.js';

const state = { overrides: new Map(), categories: [] };


function num(id) {
  const raw = ($(`#${id}`)?.value ?? '').trim().replace(',', '.');
  if (raw === '') return undefined;
  const v = Number(raw);
  return Number.isFinite(v) ? v : raw; // the server names a non-number with its value
}

/** The design options of the form, or undefined when the planner changed nothing. */
export function designOptions() {
  const d = {};
  const ksp = num('design-ksp');
  const ksq = num('design-ksq');
  if (ksp !== undefined) d.k_sum_p = ksp;
  if (ksq !== undefined) d.k_sum_q = ksq;
  const cls = $('#design-class')?.value;
  if (cls && cls !== 'III') d.load_class = cls;
  const share = num('design-share');
  if (share !== undefined) d.critical_share = typeof share === 'number' ? share / 100 : share;
  const growth = num('design-growth');
  if (growth !== undefined) d.growth_pct = growth;
  const dip = num('design-dip');
  if (dip !== undefined) d.max_start_dip = typeof dip === 'number' ? dip / 100 : dip;
  const step = num('design-step');
  if (step !== undefined) d.capacitor_step_kvar = step;
  const overrides = [...state.overrides.entries()]
    .map(([category, o]) => ({ category, ...o }))
    .filter((o) => o.kx !== undefined || o.cos_phi !== undefined);
  if (overrides.length) d.overrides = overrides;
  return Object.keys(d).length ? d : undefined;
}

function field(id, key, { unit = '', placeholder = '' } = {}) {
  return h('div', { class: 'field' }, [
    h('label', { for: id }, [h('span', { 'data-i18n': key, text: t(key) }), unit ? ` ${unit}` : '']),
    h('input', { id, inputmode: 'decimal', autocomplete: 'off', placeholder }),
  ]);
}

function overrideList() {
  const host = $('#design-overrides');
  if (!host) return;
  const items = [...state.overrides.entries()];
  host.replaceChildren(...items.map(([code, o]) => {
    const cat = state.categories.find((c) => c.code === code);
    return h('li', { 'data-category': code }, [
      `${cat ? catName(cat) : code}: Kx ${o.kx ?? '—'}, cos φ ${o.cos_phi ?? '—'} `,
      h('button', {
        type: 'button', class: 'btn ghost', 'data-i18n': 'design_remove', text: t('design_remove'),
        onclick: () => { state.overrides.delete(code); overrideList(); },
      }),
    ]);
  }));
  $('#design-overrides-empty').hidden = items.length > 0;
}

function mountForm() {
  const slot = $('#design-slot');
  if (!slot) return;
  const box = h('details', { class: 'import design-box', id: 'design-box' }, [
    h('summary', { 'data-i18n': 'design_summary', text: t('design_summary') }),
    h('p', { class: 'hint small', 'data-i18n': 'design_help', text: t('design_help') }),
    h('div', { class: 'grid-fields' }, [
      field('design-ksp', 'design_ksp', { placeholder: '0.9' }),
      field('design-ksq', 'design_ksq', { placeholder: '0.95' }),
      h('div', { class: 'field' }, [
        h('label', { for: 'design-class', 'data-i18n': 'design_class', text: t('design_class') }),
        h('select', { id: 'design-class' }, ['III', 'II', 'I'].map((c) => h('option', { value: c, text: c }))),
      ]),
      field('design-share', 'design_share', { unit: '(%)', placeholder: '100' }),
      field('design-growth', 'design_growth', { unit: '(%)', placeholder: '0' }),
      field('design-dip', 'design_dip', { unit: '(%)', placeholder: '15' }),
      field('design-step', 'design_step', { unit: '(kvar)', placeholder: '30' }),
    ]),
    h('h4', { 'data-i18n': 'design_overrides', text: t('design_overrides') }),
    h('p', { id: 'design-overrides-empty', class: 'hint small', 'data-i18n': 'design_overrides_empty', text: t('design_overrides_empty') }),
    h('ul', { id: 'design-overrides', class: 'design-overrides' }),
  ]);
  slot.replaceChildren(box);
  overrideList();
}

/** After an answer: editable Kx / cos φ / K∑ in the sheet, and the supply plan under it. */
function markProposal(result) {
  if (result.kind !== 'check') return;
  const c = result.data;
  const card = $('#tiers-title')?.closest('section');
  if (!card) return;
  const diff = c.yearly_difference_yuan;
  const money = fmtNum(Math.abs(diff), 0);
  const text = Math.abs(diff) < 0.5
    ? t('diff_same')
    : t(diff > 0 ? 'diff_more' : 'diff_less', { yuan: t('yuan', { n: money }) });
  card.append(h('p', { id: 'tier-proposal', class: 'tier-proposal' }, [
    t('tier_proposal_note', { kva: `${fmtNum(c.proposed_kva, 0)} kVA`, verdict: t(`verdict_${c.verdict}`) }),
    ' ',
    h('strong', { text }),
  ]));
}

function enhanceSheet(result) {
  markProposal(result);
  const rec = result.kind === 'check' ? result.data.recommendation : result.data;
  const s = rec && rec.engineering;
  const table = $('#sheet-table');
  if (!s) return;
  if (table && s.method === 'demand_coefficient') {
    const rows = table.querySelectorAll('tbody tr');
    s.rows.forEach((r, i) => {
      const tr = rows[i];
      if (tr && r.kind === 'single_phase_equivalent') {
        const th = tr.querySelector('th');
        if (th) th.textContent = t('design_single_phase_row', { phase: r.name ? r.name.replace(/^3 × /, '') : '' });
        return;
      }
      if (!tr) return;
      const cells = tr.querySelectorAll('td');
      const make = (cell, field, value, label, starred) => {
        const input = h('input', {
          class: 'sheet-edit', inputmode: 'decimal', 'data-category': r.category, 'data-field': field,
          value: fmtNum(value, 3).replace(/,/g, ''), 'aria-label': `${label} ${tr.querySelector('th')?.textContent ?? r.category}`,
        });
        cell.replaceChildren(input, starred ? '*' : '');
      };
      make(cells[1], 'kx', r.kx, 'Kx', r.kx_overridden);
      make(cells[2], 'cos_phi', r.cos_phi, 'cos φ', r.cos_phi_overridden);
    });
    const actions = h('div', { class: 'sheet-edit-actions no-print' }, [
      h('button', { type: 'button', id: 'sheet-recalc', class: 'btn secondary', text: t('design_recalc'), onclick: () => recalc(s) }),
      h('span', { class: 'hint small', text: t('design_recalc_hint') }),
    ]);
    table.closest('.table-wrap')?.after(actions);
  }
  const totals = $('#sheet-totals');
  if (totals) {
    const ths = [...totals.querySelectorAll('tbody th')];
    for (const [label, id, value] of [['K∑p', 'design-ksp', s.k_sum_p], ['K∑q', 'design-ksq', s.k_sum_q]]) {
      const th = ths.find((x) => x.textContent === label);
      const td = th?.nextElementSibling;
      if (!td) continue;
      td.replaceChildren(h('input', { class: 'sheet-edit', inputmode: 'decimal', 'data-target': id, value: String(value), 'aria-label': label }));
    }
  }
  const extra = document.querySelector('.sheet .sheet-extra');
  if (extra) extra.prepend(supplyBlock(s));
}

function supplyBlock(s) {
  const items = [];
  const p = s.supply;
  if (p) {
    items.push(t('design_plan', { cls: p.load_class, n: p.transformer_count, unit: fmtNum(p.unit_kva, 0), total: fmtNum(p.total_kva, 0), rate: fmtPct(p.normal_load_rate) }));
    if (p.contingency_load_rate != null) items.push(t('design_contingency', { kva: fmtNum(p.critical_kva, 0), rate: fmtPct(p.contingency_load_rate) }));
    if (s.growth_pct) items.push(t('design_growth_note', { pct: fmtNum(s.growth_pct, 1), kva: fmtNum(p.design_kva, 0) }));
  }
  if (s.qc_bank_kvar != null && s.capacitor_step_kvar) {
    items.push(t('design_bank', { n: fmtNum(s.qc_bank_kvar / s.capacitor_step_kvar, 0), step: fmtNum(s.capacitor_step_kvar, 0), q: fmtNum(s.qc_bank_kvar, 0) }));
  }
  if (s.single_phase) {
    items.push(t('design_single_phase', { phase: s.single_phase.max_phase, p: fmtNum(s.single_phase.p_kw, 1), q: fmtNum(s.single_phase.q_kvar, 1) }));
  }
  const m = s.motor_start;
  if (m) {
    items.push(t(m.exceeds ? 'design_motor_bad' : 'design_motor_ok', { kw: fmtNum(m.motor_kw, 1), dip: fmtPct(m.dip), limit: fmtPct(m.limit) }));
  }
  return h('div', { id: 'sheet-supply', class: 'sheet-supply' }, [
    h('h4', { text: t('design_supply_title') }),
    h('ul', {}, items.map((x) => h('li', { text: x }))),
  ]);
}

function recalc(s) {
  document.querySelectorAll('#sheet-table input.sheet-edit').forEach((input) => {
    const v = Number(input.value.trim().replace(',', '.'));
    const code = input.dataset.category;
    const row = s.rows.find((r) => r.category === code);
    const current = state.overrides.get(code) || {};
    if (!Number.isFinite(v)) { current[input.dataset.field] = input.value.trim(); }
    else if (row && Math.abs(v - row[input.dataset.field]) > 1e-9) current[input.dataset.field] = v;
    if (Object.keys(current).length) state.overrides.set(code, current);
  });
  document.querySelectorAll('#sheet-totals input.sheet-edit').forEach((input) => {
    const target = $(`#${input.dataset.target}`);
    if (target) target.value = input.value.trim();
  });
  overrideList();
  $('#app-form').requestSubmit();
}

async function loadCategories() {
  try {
    const r = await fetch('/api/catalog', { headers: { accept: 'application/json' } });
    if (r.ok) state.categories = (await r.json()).categories || [];
  } catch { /* the form still works; names fall back to codes */ }
}

function mount() {
  mountForm();
  loadCategories().then(overrideList);
  document.addEventListener('capacity:result', (ev) => enhanceSheet(ev.detail));
  document.addEventListener('capacity:reset', () => { state.overrides.clear(); overrideList(); });
  onLangChange(() => { const box = $('#design-box'); if (box) applyI18n(box); overrideList(); });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount);
else mount();
