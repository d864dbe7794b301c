// The demand-coefficient calculation sheet (需要系数法) beside the model's answer.

import { t, getLang, fmtNum, fmtFixed, fmtPct, fmtKva, fmtKw, catName } from './i18n.js';
import { h, tableWrap } from './dom.js';
import { voltageText } from './results.js';

export function sheetNotes(s) {
  const notes = [];
  if (s.method === 'area_density') {
    notes.push(t('note_area_method', { w: fmtNum(s.design_w_m2 ?? 0), area: fmtNum(s.floor_area_m2 ?? 0) }));
  } else if (s.rows.length === 1) {
    notes.push(t('note_single_group'));
  }
  if (s.qc_kvar > 0 && s.cos_phi_natural != null) {
    notes.push(t('note_compensation', { qc: fmtNum(s.qc_kvar), from: fmtNum(s.cos_phi_natural, 3), to: fmtNum(s.target_cos_phi, 2) }));
  }
  if (s.density_outside_range && s.installed_w_m2 != null && s.installed_w_m2_range) {
    notes.push(t('note_density', { w: fmtNum(s.installed_w_m2, 0), lo: fmtNum(s.installed_w_m2_range[0]), hi: fmtNum(s.installed_w_m2_range[1]) }));
  }
  return notes;
}

/** Symbols of the sheet with a plain-words tooltip in the page's language. */
export const SYMBOLS = {
  Pe: 'sym_pe', Kx: 'sym_kx', 'cos φ': 'sym_cos', 'tan φ': 'sym_tan', Pjs: 'sym_pjs', Qjs: 'sym_qjs',
  'K∑p': 'sym_ksp', 'K∑q': 'sym_ksq', P30: 'sym_p30', Q30: 'sym_q30', S30: 'sym_s30', I30: 'sym_i30',
};

/** `text` with every sheet symbol in it wrapped in <abbr title="plain words">. */
export function withSymbols(text) {
  const keys = Object.keys(SYMBOLS).sort((a, b) => b.length - a.length);
  const parts = [];
  let rest = String(text);
  while (rest) {
    let hit = null;
    for (const k of keys) {
      const i = rest.indexOf(k);
      if (i >= 0 && (hit === null || i < hit.i)) hit = { i, k };
    }
    if (!hit) { parts.push(rest); break; }
    if (hit.i) parts.push(rest.slice(0, hit.i));
    parts.push(h('abbr', { class: 'sym', title: t(SYMBOLS[hit.k]), tabindex: '0', text: hit.k }));
    rest = rest.slice(hit.i + hit.k.length);
  }
  return parts;
}

export function sheetCard(state, rec) {
  const s = rec.engineering;
  const head = h('h3', { id: 'sheet-title', text: t('sheet_title') });
  const compare = h('div', { class: 'compare' }, [
    h('div', { class: 'compare-item model' }, [
      h('span', { class: 'compare-label', text: t('compare_model') }),
      h('span', { class: 'compare-value', text: fmtKva(rec.recommended_kva) }),
      h('span', { class: 'hint small', text: `${t('predicted_peak')} ${fmtKw(rec.predicted_peak_kw)}` }),
    ]),
    h('div', { class: 'compare-item eng' }, [
      h('span', { class: 'compare-label', text: t('compare_engineering') }),
      h('span', { class: 'compare-value', id: 'engineering-kva', text: rec.engineering_kva != null ? fmtKva(rec.engineering_kva) : '—' }),
      h('span', { class: 'hint small', text: s ? `S30 ${fmtNum(s.s30_comp_kva)} kVA · ${t('load_rate')} ${fmtPct(s.load_rate)}` : t('sheet_none_short') }),
    ]),
    h('div', { class: 'compare-text' }, [
      h('p', { class: 'compare-note' }, [compareSentence(state, rec)]),
      rec.bounds && (rec.bounds.lower_kva != null || rec.bounds.upper_kva != null)
        ? h('p', { class: 'hint small', text: t('bounds_text', { lo: rec.bounds.lower_kva != null ? fmtKva(rec.bounds.lower_kva) : '—', hi: rec.bounds.upper_kva != null ? fmtKva(rec.bounds.upper_kva) : '—' }) })
        : null,
    ]),
  ]);
  if (!s) {
    return h('section', { class: 'card sheet', 'aria-labelledby': 'sheet-title' }, [head, h('div', { class: 'sheet-grid' }, [compare, h('p', { class: 'hint', text: t('sheet_none') })])]);
  }
  const n1 = (v) => fmtFixed(v, 1);
  const n2 = (v) => fmtFixed(v, 2);
  const n3 = (v) => fmtFixed(v, 3);
  const cat = (code) => { const c = state.categories.get(code); return c ? catName(c) : code; };
  let table;
  if (s.method === 'demand_coefficient') {
    const cols = [t('sheet_col_category'), 'Pe (kW)', 'Kx', 'cos φ', 'tan φ', 'Pjs (kW)', 'Qjs (kvar)'];
    table = h('table', { class: 'data sheet-table', id: 'sheet-table' }, [
      h('caption', { text: t('sheet_caption') }),
      h('thead', {}, h('tr', {}, cols.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, withSymbols(c))))),
      h('tbody', {}, s.rows.map((r) => h('tr', {}, [
        h('th', { scope: 'row', text: cat(r.category) }),
        h('td', { class: 'num', text: n1(r.installed_kw) }),
        h('td', { class: 'num', text: `${n3(r.kx)}${r.kx_overridden ? '*' : ''}` }),
        h('td', { class: 'num', text: `${n2(r.cos_phi)}${r.cos_phi_overridden ? '*' : ''}` }),
        h('td', { class: 'num', text: n2(r.tan_phi) }),
        h('td', { class: 'num', text: n1(r.p_kw) }),
        h('td', { class: 'num', text: n1(r.q_kvar) }),
      ]))),
      h('tfoot', {}, h('tr', {}, [
        h('th', { scope: 'row', text: t('sheet_total') }),
        h('td', { class: 'num', text: s.installed_kw != null ? n1(s.installed_kw) : '' }), h('td'), h('td'), h('td'),
        h('td', { class: 'num', text: n1(s.sum_p_kw) }), h('td', { class: 'num', text: n1(s.sum_q_kvar) }),
      ])),
    ]);
  } else {
    table = h('p', { class: 'hint', text: t('sheet_area_method') });
  }
  const kv = [
    ['K∑p', n2(s.k_sum_p)], ['K∑q', n2(s.k_sum_q)],
    ['P30', `${n1(s.p30_kw)} kW`], ['Q30', `${n1(s.q30_kvar)} kvar`],
    ['S30', `${n1(s.s30_kva)} kVA`], ['I30', `${n1(s.i30_a)} A`],
    [t('sheet_cos_natural'), s.cos_phi_natural != null ? n3(s.cos_phi_natural) : '—'],
    [t('sheet_qc'), `${n1(s.qc_kvar)} kvar`],
    [t('sheet_q30_comp'), `${n1(s.q30_comp_kvar)} kvar`],
    [t('sheet_s30_comp'), `${n1(s.s30_comp_kva)} kVA`],
    [t('sheet_i30_comp'), `${n1(s.i30_comp_a)} A`],
    [t('sheet_transformer'), `${fmtKva(s.transformer_kva)} (${t('load_rate')} ${fmtPct(s.load_rate)} ≤ ${fmtPct(s.max_load_rate)})`],
    [t('supply_voltage'), voltageText(s.supply_voltage)],
    [t('two_part_tariff'), s.two_part_tariff ? t('yes_tariff') : t('no_tariff')],
  ];
  const kvTable = h('table', { class: 'data kv', id: 'sheet-totals' }, [
    h('caption', { text: t('sheet_totals_caption') }),
    // A symbol alone as a row head carries its plain words on the head itself.
    h('tbody', {}, kv.map(([k, v]) => h('tr', {}, [
      SYMBOLS[k] ? h('th', { scope: 'row', class: 'sym', title: t(SYMBOLS[k]), tabindex: '0', text: k }) : h('th', { scope: 'row', text: k }),
      h('td', { class: 'num', text: v }),
    ]))),
  ]);
  const extra = [];
  if (s.excluded.length) {
    extra.push(h('h4', { text: t('sheet_excluded') }), h('ul', { class: 'excluded' }, s.excluded.map((x) => h('li', {
      text: `${x.name && x.name !== cat(x.category) ? `${x.name}${getLang() === 'zh' ? `（${cat(x.category)}）` : ` (${cat(x.category)})`}` : cat(x.category)} ${fmtKw(x.installed_kw)}${t('colon')}${t(/fire pump/.test(x.reason) && !/standby/.test(x.reason) ? 'excluded_fire' : 'excluded_standby')}`,
    }))));
  }
  const notes = sheetNotes(s);
  if (notes.length) extra.push(h('h4', { text: t('sheet_notes') }), h('ul', { class: 'notes' }, notes.map((n) => h('li', { text: n }))));
  const body = h('div', { class: 'sheet-body' }, [
    s.method === 'demand_coefficient' ? tableWrap(table, t('sheet_caption')) : table,
    h('div', { class: 'sheet-lower' }, [tableWrap(kvTable, t('sheet_totals_caption')), h('div', { class: 'sheet-extra' }, extra)]),
  ]);
  // A customer sees the answer, the reasons and the cost; the engineer's sheet is one
  // click away (a planner sees it open).
  const planner = state.mode === 'planner';
  const sheetPart = planner ? body : h('details', { class: 'sheet-details', id: 'sheet-details' }, [
    h('summary', { text: t('sheet_open_customer') }), body,
  ]);
  return h('section', { class: 'card sheet', 'aria-labelledby': 'sheet-title' }, [
    head,
    h('p', { class: 'hint small', text: t(s.method === 'demand_coefficient' ? 'sheet_help' : 'sheet_help_area') }),
    h('div', { class: 'sheet-grid' }, [compare, sheetPart]),
  ]);
}

export function compareSentence(state, rec) {
  if (rec.engineering_kva == null) return t('compare_no_engineering');
  const series = state.catalog.standard_series_kva;
  const a = series.indexOf(rec.recommended_kva);
  const b = series.indexOf(rec.engineering_kva);
  if (rec.recommended_kva === rec.engineering_kva) return t('compare_same');
  if (a >= 0 && b >= 0) {
    const steps = a - b;
    return t(steps > 0 ? 'compare_higher' : 'compare_lower', { n: Math.abs(steps) });
  }
  return t(rec.recommended_kva > rec.engineering_kva ? 'compare_higher_plain' : 'compare_lower_plain');
}
