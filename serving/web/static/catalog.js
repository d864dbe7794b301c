// The catalog from /api/catalog (industries, categories, limits, examples) and the pickers.

import { $, h } from './dom.js';
import { t, getLang, catName } from './i18n.js';
import { refreshRowLanguage } from './rows.js';
import { loadExample } from './form.js';

export async function loadCatalog(state) {
  try {
    const r = await fetch('/api/catalog', { headers: { accept: 'application/json' } });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    state.catalog = await r.json();
  } catch (err) {
    const box = $('#load-error');
    box.hidden = false;
    box.replaceChildren(
      t('err_catalog', { detail: String(err.message || err) }), ' ',
      h('button', { type: 'button', class: 'btn secondary', text: t('btn_retry'), onclick: () => location.reload() }),
    );
    return false;
  }
  for (const i of state.catalog.industries) state.industries.set(i.code, i);
  for (const c of state.catalog.categories) state.categories.set(c.code, c);
  return true;
}

export function renderPickers(state) {
  const cat = state.catalog;
  // Industry datalist: value in the current language; label = the other language + code.
  const other = getLang() === 'zh' ? 'name_en' : 'name_zh';
  $('#industry-list').replaceChildren(...cat.industries.map((i) => h('option', { value: catName(i), label: `${i[other]} · ${i.code}` })));
  const zone = $('#climate_zone');
  const zv = zone.value;
  zone.replaceChildren(h('option', { value: '', text: t('climate_unknown') }), ...cat.climate_zones.map((z) => h('option', { value: z.code, text: catName(z) })));
  zone.value = zv;
  $('#series-list').replaceChildren(...cat.standard_series_kva.map((k) => h('option', { value: String(k) })));
  const add = $('#add-category');
  const av = add.value;
  add.replaceChildren(...categoryOptions(state, false));
  add.value = av || cat.categories[0].code;
  renderExampleButtons(state);
  for (const row of state.rows) refreshRowLanguage(state, row);
  // Keep the chosen industry, shown in the new language.
  const code = resolveIndustry(state, $('#industry').value);
  if (code) $('#industry').value = catName(state.industries.get(code));
  updateIndustryHint(state);
}

export function categoryOptions(state, withAuto) {
  const opts = state.catalog.categories.map((c) => h('option', { value: c.code, text: catName(c) }));
  if (withAuto) opts.unshift(h('option', { value: '', text: t('cat_auto') }));
  return opts;
}

export function renderExampleButtons(state) {
  const box = $('#example-buttons');
  box.replaceChildren(...Object.keys(state.catalog.examples).map((key) => h('button', {
    type: 'button', class: 'btn small secondary', 'data-example': key,
    text: t(`example_${key}`, {}, key.replace(/_/g, ' ')), onclick: () => loadExample(state, key),
  })));
}

export function resolveIndustry(state, text) {
  const s = String(text || '').trim();
  if (!s) return null;
  const low = s.toLowerCase();
  const m = s.match(/[（(]\s*([a-z_]+)\s*[)）]\s*$/i) || s.match(/·\s*([a-z_]+)\s*$/i);
  if (m && state.industries.has(m[1].toLowerCase())) return m[1].toLowerCase();
  for (const i of state.industries.values()) {
    if (i.code === low || i.name_zh === s || i.name_en.toLowerCase() === low) return i.code;
  }
  // A fragment that belongs to exactly one industry ("办公", "hotel") is taken as that one;
  // the hint under the field shows which, before anything is sent.
  if (s.length >= 2) {
    const hits = [...state.industries.values()].filter((i) => i.name_zh.includes(s) || i.name_en.toLowerCase().includes(low));
    if (hits.length === 1) return hits[0].code;
  }
  return null;
}

export function updateIndustryHint(state) {
  const hint = $('#industry-hint');
  const code = resolveIndustry(state, $('#industry').value);
  if (code) {
    const i = state.industries.get(code);
    const other = getLang() === 'zh' ? i.name_en : i.name_zh;
    hint.textContent = `✓ ${other} · ${code}`;
    hint.className = 'hint small ok';
  } else if ($('#industry').value.trim()) {
    hint.textContent = t('hint_industry_pick');
    hint.className = 'hint small';
  } else {
    hint.textContent = t('hint_industry_count', { n: state.industries.size });
    hint.className = 'hint small';
  }
}
