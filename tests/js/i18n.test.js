// Unit tests of the page's message catalog (node's test runner: `make test`).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DICT, catName, fmtPct, getLang, onLangChange, setLang, t } from '../../serving/web/static/i18n.js';

test('both languages have the same keys', () => {
  const zh = Object.keys(DICT.zh).sort();
  const en = Object.keys(DICT.en).sort();
  assert.deepEqual(zh.filter((k) => !en.includes(k)), []);
  assert.deepEqual(en.filter((k) => !zh.includes(k)), []);
});

test('messages with a function or placeholders render their parameters', () => {
  setLang('en');
  assert.equal(t('yuan', { n: '1,000' }), '1,000 yuan');
  assert.match(t('rows_count', { n: 1 }), /^1 line$/);
  assert.match(t('rows_count', { n: 2 }), /^2 lines$/);
  assert.equal(t('no_such_key_here', {}, 'fallback'), 'fallback');
});

test('the language is Chinese by default and switches with listeners told', () => {
  setLang('zh');
  assert.equal(getLang(), 'zh');
  /** @type {string[]} */
  const seen = [];
  onLangChange((lang) => seen.push(lang));
  setLang('en');
  setLang('fr'); // not a language of the page: ignored
  assert.equal(getLang(), 'en');
  assert.deepEqual(seen, ['en']);
  assert.equal(catName({ name_zh: '水泵', name_en: 'Pumps' }), 'Pumps');
  setLang('zh');
  assert.equal(catName({ name_zh: '水泵', name_en: 'Pumps' }), '水泵');
  assert.equal(catName(null), '');
});

test('percentages round and a missing value is a dash', () => {
  assert.equal(fmtPct(0.914), '91%');
  assert.equal(fmtPct(null), '—');
  assert.equal(fmtPct('x'), '—');
});
