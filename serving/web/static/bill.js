// @ts-check
// Reading an electricity bill's months as people paste them: pure (no DOM), tested by
// node (tests/js/bill.test.js).
//
// Accepted pastes (one month per line, any of tab, comma, semicolon or spaces between
// columns; a header line is skipped):
//   * a column of numbers: the kWh of consecutive months, oldest first, filled from the
//     first month of the table;
//   * month and kWh: "2025-07  86,000", "2025/7 86000", "2025年7月 86000度", "2025.07,86000";
//   * month, kWh and the month's maximum demand (最大需量, kW) where the bill shows it.
// Nothing is guessed: a line that is neither is reported with its number and text.

import { parseNumber } from './csv.js';

/**
 * @typedef {{ period: string | null, energy: number, demand: number | null }} BillLine
 *   One month read from a paste (period null for a bare column of numbers).
 * @typedef {{ key: string, params?: Record<string, unknown> }} BillNote
 *   Why a line was not read, as an i18n key and its parameters.
 */

/**
 * "2025-7", "2025/07", "2025.7", "2025年7月", "202507" → "2025-07"; null when not a month.
 * @param {unknown} raw
 * @returns {string | null}
 */
export function normalisePeriod(raw) {
  const s = String(raw ?? '').trim().replace(/\s+/g, '');
  const m = s.match(/^(\d{4})(?:[-/.年]|)(\d{1,2})月?$/);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  if (month < 1 || month > 12 || year < 1900 || year > 2200) return null;
  return `${m[1]}-${String(month).padStart(2, '0')}`;
}

/**
 * A bill's number: "86,000", "86000度", "86000 kWh", "８６０００" → 86000; null if empty, NaN if not.
 * @param {unknown} raw
 * @returns {number | null}
 */
export function billNumber(raw) {
  const s = String(raw ?? '').trim().replace(/\s*(kwh|度|千瓦时|kw|千瓦)$/i, '');
  return parseNumber(s);
}

/**
 * The `n` months before `now` (oldest first), "YYYY-MM": the bills of the year before an
 * application.
 * @param {number} n
 * @param {Date} now
 */
export function monthsBefore(n, now) {
  const out = [];
  for (let k = n; k >= 1; k -= 1) {
    const d = new Date(now.getFullYear(), now.getMonth() - k, 1);
    out.push(`${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`);
  }
  return out;
}

const THOUSANDS = /^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$/;

/**
 * A line with commas only: "86,000" and "2025-07,86,000" are one number (after the month);
 * otherwise commas separate columns ("2025-07,86000,310").
 * @param {string} s
 * @returns {string[]}
 */
function splitCommas(s) {
  if (THOUSANDS.test(s)) return [s];
  const m = s.match(/^([^,]+),(.*)$/);
  if (m && normalisePeriod(m[1]) && THOUSANDS.test(m[2].trim())) return [m[1].trim(), m[2].trim()];
  return s.split(',').map((c) => c.trim()).filter(Boolean);
}

/**
 * Read a pasted bill.
 * @param {string} text
 * @returns {{ lines: BillLine[], notes: BillNote[] }}
 */
export function parseBill(text) {
  /** @type {BillLine[]} */
  const lines = [];
  /** @type {BillNote[]} */
  const notes = [];
  const raw = String(text ?? '').split(/\r?\n/);
  raw.forEach((line, i) => {
    const s = line.trim();
    if (!s) return;
    // Columns: tabs, semicolons or spaces; with none of those, commas (a comma inside
    // "86,000" is a thousands separator, as in a bill).
    // A comma that ends a cell ("2025/8, 91000") separates it from the next.
    let cells = s.split(/[\t;]+|\s+/).map((c) => c.replace(/,$/, '')).filter(Boolean);
    if (cells.length === 1 && s.includes(',')) cells = splitCommas(s);
    // "2025年7月 86000度" or "2025-07 86,000 kWh": a unit as its own cell belongs to the number.
    cells = cells.filter((c) => !/^(kwh|度|千瓦时|kw|千瓦)$/i.test(c));
    const period = normalisePeriod(cells[0]);
    const numbers = (period ? cells.slice(1) : cells).map(billNumber);
    const n = i + 1;
    if (numbers.length === 0 || numbers.length > 2 || numbers.some((v) => v === null || Number.isNaN(v))) {
      // A header ("月份 电量") is skipped without a note when nothing on it is a number.
      const header = i === 0 && !cells.some((c) => /\d/.test(c));
      if (!header) notes.push({ key: 'bill_line_unread', params: { n, text: s.slice(0, 60) } });
      return;
    }
    lines.push({ period, energy: /** @type {number} */ (numbers[0]), demand: numbers.length > 1 ? /** @type {number} */ (numbers[1]) : null });
  });
  const dated = lines.filter((l) => l.period !== null).length;
  if (dated && dated < lines.length) {
    notes.push({ key: 'bill_mixed' });
    return { lines: lines.filter((l) => l.period !== null), notes };
  }
  return { lines, notes };
}
