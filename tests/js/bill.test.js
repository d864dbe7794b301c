// Reading pasted bills (serving/web/static/bill.js): what people paste, and what is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { billNumber, monthsBefore, normalisePeriod, parseBill } from '../../serving/web/static/bill.js';

test('months are read in the ways bills and spreadsheets write them', () => {
  for (const s of ['2025-07', '2025-7', '2025/07', '2025.7', '2025年7月', '202507', ' 2025 - 07 ']) {
    assert.equal(normalisePeriod(s.replace(' - ', '-')), '2025-07', s);
  }
  for (const s of ['2025-13', '2025-00', '7月', 'July', '', '25-07']) assert.equal(normalisePeriod(s), null, s);
});

test('a bill number may carry separators, full-width digits and a unit', () => {
  assert.equal(billNumber('86,000'), 86000);
  assert.equal(billNumber('86000度'), 86000);
  assert.equal(billNumber('86000 kWh'), 86000);
  assert.equal(billNumber('８６０００'), 86000);
  assert.equal(billNumber(''), null);
  assert.ok(Number.isNaN(billNumber('about 86000')));
});

test('a column of twelve numbers is twelve months of energy, in order', () => {
  const text = Array.from({ length: 12 }, (_, i) => String(80000 + i * 1000)).join('\n');
  const { lines, notes } = parseBill(text);
  assert.equal(lines.length, 12);
  assert.deepEqual(notes, []);
  assert.deepEqual(lines.map((l) => l.period), Array(12).fill(null));
  assert.equal(lines[0].energy, 80000);
  assert.equal(lines[11].energy, 91000);
});

test('month and energy (and maximum demand) columns, tab, comma or space separated, header skipped', () => {
  const text = '月份\t电量\t最大需量\n2025-07\t86,000\t310\n2025/8, 91000\n2025年9月 88000度 305\n2025-10,87000,300';
  const { lines, notes } = parseBill(text);
  assert.deepEqual(notes, []);
  assert.deepEqual(lines, [
    { period: '2025-07', energy: 86000, demand: 310 },
    { period: '2025-08', energy: 91000, demand: null },
    { period: '2025-09', energy: 88000, demand: 305 },
    { period: '2025-10', energy: 87000, demand: 300 },
  ]);
});

test('a line that is not a month of a bill is reported, never guessed', () => {
  const { lines, notes } = parseBill('2025-07 86000\n2025-08 lots\n2025-09 1 2 3');
  assert.equal(lines.length, 1);
  assert.deepEqual(notes.map((n) => [n.key, n.params?.n]), [['bill_line_unread', 2], ['bill_line_unread', 3]]);
  // Dated and undated lines mixed: only the dated ones, and a note says so.
  const mixed = parseBill('2025-07 86000\n91000');
  assert.deepEqual(mixed.lines.map((l) => l.period), ['2025-07']);
  assert.deepEqual(mixed.notes.map((n) => n.key), ['bill_mixed']);
});

test('the twelve months before a date, oldest first, across a year end', () => {
  const months = monthsBefore(12, new Date(2026, 1, 15));
  assert.equal(months.length, 12);
  assert.equal(months[0], '2025-02');
  assert.equal(months[11], '2026-01');
});
