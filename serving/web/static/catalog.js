// The catalog from /api/catalog (industries, categories, limits, examples) and the pickers.

import { $, h } from './dom.js';
import { t, getLang, catName } from './i18n.js';
import { refreshRowLanguage } from './rows.js';
import { loadExample } from './form.js';
import { sendWithRetry } from './retry.js';

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
  // Industry datalist: the name and a few of the words people use, in the page's language.
  const aliasKey = getLang() === 'zh' ? 'aliases_zh' : 'aliases_en';
  $('#industry-list').replaceChildren(...cat.industries.map((i) => h('option', {
    value: catName(i), label: t('industry_list_label', { aliases: (i[aliasKey] || []).slice(0, 4).join(getLang() === 'zh' ? '、' : ', ') }),
  })));
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
  // Keep the chosen industry: an industry's name follows the language, a word the
  // customer typed ("机加工") stays as typed.
  const typed = $('#industry').value.trim();
  const code = resolveIndustry(state, typed);
  if (code && isIndustryName(state, typed)) $('#industry').value = catName(state.industries.get(code));
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

const INDUSTRY_MATCH_DEBOUNCE_MS = 250;

/** Whether `text` is an industry's code or its name in either language. */
export function isIndustryName(state, text) {
  const low = String(text || '').trim().toLowerCase();
  return [...state.industries.values()].some((i) => i.code === low || i.name_zh.toLowerCase() === low || i.name_en.toLowerCase() === low);
}

/**
 * The industry code for what the customer typed: a code, a name or a listed word (exact,
 * on the page), else what the server's matcher found for this text (same matcher as the
 * API), else null.
 */
export function resolveIndustry(state, text) {
  const s = String(text || '').trim();
  if (!s) return null;
  const low = s.toLowerCase();
  const m = s.match(/[（(]\s*([a-z_]+)\s*[)）]\s*$/i) || s.match(/·\s*([a-z_]+)\s*$/i);
  if (m && state.industries.has(m[1].toLowerCase())) return m[1].toLowerCase();
  for (const i of state.industries.values()) {
    if (i.code === low || i.name_zh === s || i.name_en.toLowerCase() === low) return i.code;
  }
  // A broad word (工厂, factory) names no trade: the server's matcher reads it as a guess.
  const broad = (state.catalog && state.catalog.broad_industry_words) || [];
  if (broad.some((w) => w.toLowerCase() === low)) {
    const f = state.industryMatch;
    return f && f.text === s && f.state === 'done' && f.code ? f.code : null;
  }
  for (const i of state.industries.values()) {
    if ((i.aliases_zh || []).includes(s) || (i.aliases_en || []).some((a) => a.toLowerCase() === low)) return i.code;
  }
  const found = state.industryMatch;
  if (found && found.text === s && found.state === 'done' && found.code) return found.code;
  return null;
}

/** Ask the server's industry matcher about the field's text (debounced; latest wins). */
export function scheduleIndustryMatch(state) {
  clearTimeout(state.industryTimer);
  const text = $('#industry').value.trim();
  if (!text || (resolveIndustry(state, text) && !(state.industryMatch && state.industryMatch.text === text))) {
    state.industryMatch = null;
    updateIndustryHint(state);
    return;
  }
  const seq = (state.industrySeq || 0) + 1;
  state.industrySeq = seq;
  state.industryMatch = { text, state: 'pending' };
  updateIndustryHint(state);
  state.industryTimer = setTimeout(async () => {
    let result = { text, state: 'error' };
    try {
      const r = (await sendWithRetry(() => fetch(`/api/match?${new URLSearchParams({ kind: 'industry', text })}`, { headers: { accept: 'application/json' } }))).resp;
      const body = await r.json();
      if (r.ok) {
        result = {
          text, state: 'done', code: body.category, alias: body.matched_alias, confidence: body.confidence, guess: Boolean(body.guess),
          // Weak guesses (a few shared characters) would only confuse.
          candidates: (body.candidates || []).filter((c) => c.score >= 0.3).map((c) => c.code),
        };
      }
    } catch { /* the server resolves it on submit */ }
    if (seq !== state.industrySeq) return;
    state.industryMatch = result;
    updateIndustryHint(state);
  }, INDUSTRY_MATCH_DEBOUNCE_MS);
}

/** Put industry `code` into the field (a guess the customer picked). */
function pickIndustry(state, code) {
  $('#industry').value = catName(state.industries.get(code));
  state.industryMatch = null;
  updateIndustryHint(state);
  $('#industry').focus();
}

export function updateIndustryHint(state) {
  const hint = $('#industry-hint');
  const text = $('#industry').value.trim();
  const code = resolveIndustry(state, text);
  const found = state.industryMatch && state.industryMatch.text === text ? state.industryMatch : null;
  hint.className = 'hint small';
  const entry = code ? state.industries.get(code) : null;
  if (entry && entry.not_listed) {
    // 其他 / not listed (or a trade the list lacks: 住宅小区, 加油站): the all-industry
    // answer, reviewed by a planner; said so, never with a ✓ (the server's rule).
    delete hint.dataset.sig;
    delete hint.dataset.guess;
    hint.textContent = t('hint_industry_not_listed', { text });
    hint.dataset.industry = code;
    hint.dataset.notListed = 'true';
    hint.className = 'hint small warn';
    return;
  }
  delete hint.dataset.notListed;
  if (code && found && found.state === 'done' && found.code === code && found.guess) {
    // Read from a broad or doubtful word (the server's guess field): a guess, never a ✓.
    delete hint.dataset.sig;
    hint.textContent = t('hint_industry_guess', { name: catName(state.industries.get(code)), text });
    hint.dataset.industry = code;
    hint.dataset.guess = 'true';
    hint.className = 'hint small warn';
    return;
  }
  delete hint.dataset.guess;
  if (code) {
    const name = catName(state.industries.get(code));
    const alias = !isIndustryName(state, text) ? text : null;
    delete hint.dataset.sig;
    hint.textContent = alias ? t('hint_industry_match_alias', { name, alias }) : t('hint_industry_match', { name });
    hint.dataset.industry = code;
    hint.className = 'hint small ok';
    return;
  }
  delete hint.dataset.industry;
  const keepGuesses = found && found.state === 'done' && found.candidates && found.candidates.length;
  if (!keepGuesses) delete hint.dataset.sig;
  if (found && found.state === 'pending') {
    hint.textContent = t('hint_industry_pending');
  } else if (found && found.state === 'done' && found.candidates && found.candidates.length) {
    // Re-drawn only when it changes: the field's blur (a click on a guess) must not
    // replace the button being clicked.
    const sig = `${getLang()}|${text}|${found.candidates.join(',')}`;
    if (hint.dataset.sig === sig) return;
    hint.dataset.sig = sig;
    hint.replaceChildren(t('hint_industry_guesses', { text }), ' ', ...found.candidates.slice(0, 3).flatMap((c, k) => [
      k ? ' ' : '',
      h('button', { type: 'button', class: 'btn tiny', 'data-industry': c, text: catName(state.industries.get(c)), onclick: () => pickIndustry(state, c) }),
    ]));
    hint.className = 'hint small warn';
  } else if (found && found.state === 'done') {
    hint.textContent = t('hint_industry_none', { text });
    hint.className = 'hint small warn';
  } else if (text) {
    hint.textContent = t('hint_industry_pick');
  } else {
    hint.textContent = t('hint_industry_count', { n: state.industries.size });
  }
}
