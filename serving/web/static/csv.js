// @ts-check
// Small, dependency-free parsers for equipment lists: CSV files in the contract's
// equipment format and rows pasted from a spreadsheet (tab-separated).
//
// Everything here is pure (no DOM), so it can be exercised from the browser console:
//   import('/static/csv.js').then(m => m.parseCSV('a,"b ""c"""\n1,2'))
// and from node's test runner (tests/js/csv.test.js).

/**
 * @typedef {{ code: string, name_zh: string, name_en: string }} Category
 *   A category of the catalog (GET /api/catalog `categories`), as far as these parsers use it.
 * @typedef {{ true: readonly string[], false: readonly string[] }} BooleanWords
 *   The words of a boolean column (GET /api/catalog `boolean_words`, declared once in
 *   features/contract.py); an empty cell is false.
 * @typedef {{ key: string, params?: Record<string, unknown> }} Note
 *   A message for the user, as an i18n key and its parameters.
 * @typedef {{ customer_id?: string, category: string, name: string, rated_kw: string,
 *   quantity: string, standby: boolean }} ImportedItem
 *   One equipment line as read (numbers as the raw text, so the form flags what the file says).
 * @typedef {{ items: ImportedItem[], notes: Note[], customers: string[], sources?: string[],
 *   header?: string | null }} ImportResult
 */

/**
 * Decode an uploaded file: UTF-8 (with or without BOM), else GB18030 (Excel's CSV in zh-CN).
 * @param {Blob} file
 * @returns {Promise<{ text: string, encoding: string }>}
 */
export async function decodeFile(file) {
  const buf = await file.arrayBuffer();
  const bytes = new Uint8Array(buf);
  // UTF-16 with BOM ("Unicode text" from Excel).
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
    return { text: new TextDecoder('utf-16le').decode(bytes), encoding: 'UTF-16LE' };
  }
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    return { text: new TextDecoder('utf-16be').decode(bytes), encoding: 'UTF-16BE' };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'UTF-8' };
  } catch {
    try {
      return { text: new TextDecoder('gb18030').decode(bytes), encoding: 'GB18030' };
    } catch {
      return { text: new TextDecoder('utf-8').decode(bytes), encoding: 'UTF-8 (lossy)' };
    }
  }
}

/**
 * Guess the delimiter from the first line: comma, semicolon or tab.
 * @param {string} text
 * @returns {string}
 */
export function sniffDelimiter(text) {
  const first = (text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/, 1)[0]) || '';
  /** @type {Array<[string, number]>} */
  const counts = [',', ';', '\t'].map((d) => [d, countOutsideQuotes(first, d)]);
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0][1] > 0 ? counts[0][0] : ',';
}

/**
 * @param {string} line
 * @param {string} ch
 * @returns {number}
 */
function countOutsideQuotes(line, ch) {
  let n = 0;
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (c === ch && !quoted) n += 1;
  }
  return n;
}

/**
 * RFC 4180 CSV: quoted fields with "" escapes and line breaks inside quotes, CRLF/LF/CR
 * line ends, a leading BOM. Returns an array of rows (arrays of strings); blank lines
 * are dropped.
 * @param {string} text
 * @param {string} [delimiter] guessed from the first line when omitted
 * @returns {string[][]}
 */
export function parseCSV(text, delimiter) {
  const src = String(text ?? '').replace(/^\uFEFF/, '');
  const delim = delimiter || sniffDelimiter(src);
  /** @type {string[][]} */
  const rows = [];
  /** @type {string[]} */
  let row = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const n = src.length;
  const endField = () => { row.push(field); field = ''; };
  const endRow = () => {
    endField();
    if (!(row.length === 1 && row[0].trim() === '')) rows.push(row);
    row = [];
  };
  while (i < n) {
    const c = src[i];
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false; i += 1; continue;
      }
      field += c; i += 1; continue;
    }
    if (c === '"' && field.trim() === '') { field = ''; quoted = true; i += 1; continue; }
    if (c === delim) { endField(); i += 1; continue; }
    if (c === '\r') { endRow(); i += src[i + 1] === '\n' ? 2 : 1; continue; }
    if (c === '\n') { endRow(); i += 1; continue; }
    field += c; i += 1;
  }
  if (field !== '' || row.length > 0) endRow();
  return rows;
}

const FULLWIDTH = /[\uFF10-\uFF19\uFF0E\uFF0C\uFF0D\uFF0B]/g;

/**
 * Full-width digits and punctuation (from Chinese input methods) to ASCII.
 * @param {unknown} s
 * @returns {string}
 */
export function toHalfWidth(s) {
  return String(s ?? '').replace(FULLWIDTH, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/\u3000/g, ' ');
}

/**
 * A number typed by a person: full-width digits, thousands separators ("1,200"), units
 * ("7.5kW", "12台"). Returns NaN when it is not a number and null when it is empty.
 * @param {unknown} raw
 * @returns {number | null}
 */
export function parseNumber(raw) {
  let s = toHalfWidth(raw).trim();
  if (s === '') return null;
  s = s.replace(/\s+/g, '');
  // kVA is not kW: a box that says kVA is not a plain number (the server converts it).
  s = s.replace(/(kw|千瓦|台|套|个|m²|m2|平方米|平米|人|班)$/i, '');
  if (/^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return NaN;
  return Number(s);
}

/** @type {WeakMap<BooleanWords, { yes: Set<string>, no: Set<string> }>} */
const WORD_SETS = new WeakMap();

/**
 * @param {BooleanWords} words
 * @returns {{ yes: Set<string>, no: Set<string> }}
 */
function wordSets(words) {
  let sets = WORD_SETS.get(words);
  if (!sets) {
    sets = { yes: new Set(words.true), no: new Set(['', ...words.false]) };
    WORD_SETS.set(words, sets);
  }
  return sets;
}

/**
 * Standby flag in any common spelling; undefined when it cannot be read.
 * @param {unknown} raw
 * @param {BooleanWords} words the catalog's `boolean_words` (the one list, features/contract.py)
 * @returns {boolean | undefined}
 */
export function parseBool(raw, words) {
  const s = toHalfWidth(raw).trim().toLowerCase();
  const { yes, no } = wordSets(words);
  if (yes.has(s)) return true;
  if (no.has(s)) return false;
  return undefined;
}

// Header names we understand, in both languages (lower-cased, spaces removed).
/** @type {Record<string, string[]>} */
const HEADER_ALIASES = {
  customer_id: ['customer_id', 'customerid', '客户编号', '户号', '客户号'],
  category: ['category', 'category_code', '类别', '设备类别', '类别代码'],
  rated_kw: ['rated_kw', 'ratedkw', 'kw', 'rated_power', 'power_kw', '额定功率', '单台功率', '功率', '单台额定功率', '额定功率(kw)', '单台功率(kw)', '功率(kw)', '单台额定功率(kw)'],
  quantity: ['quantity', 'qty', 'count', 'units', '数量', '台数'],
  standby: ['standby', 'spare', '备用', '是否备用'],
  name: ['name', 'equipment', 'description', 'item', 'equipmentlist', '名称', '设备名称', '设备', '设备清单', '用电设备', '设备名称及型号', '名称及型号', '名称型号', '设备及型号'],
};

/**
 * @param {unknown} cell
 * @returns {string | null}
 */
function headerKey(cell) {
  const c = toHalfWidth(cell).trim().toLowerCase().replace(/\s+/g, '').replace(/（/g, '(').replace(/）/g, ')');
  for (const [key, names] of Object.entries(HEADER_ALIASES)) {
    if (names.includes(c)) return key;
  }
  return null;
}

/**
 * Map of column key -> index when `cells` look like a header row, else null.
 * @param {readonly unknown[]} cells
 * @returns {Record<string, number> | null}
 */
export function readHeader(cells) {
  /** @type {Record<string, number>} */
  const map = {};
  cells.forEach((cell, i) => {
    const k = headerKey(cell);
    if (k && !(k in map)) map[k] = i;
  });
  const known = Object.keys(map).length;
  if (known >= 2 && ('rated_kw' in map) && ('category' in map || 'name' in map)) return map;
  return null;
}

/**
 * Resolve the first column of a pasted row: a category code, or a category's Chinese or
 * English name, becomes the category; anything else is a free-text name for the matcher.
 * @param {unknown} text
 * @param {readonly Category[]} categories
 * @returns {{ category: string, name: string }}
 */
export function resolveCategoryText(text, categories) {
  const s = String(text ?? '').trim();
  if (!s) return { category: '', name: '' };
  const low = s.toLowerCase();
  for (const c of categories) {
    if (c.code.toLowerCase() === low) return { category: c.code, name: '' };
  }
  for (const c of categories) {
    if (c.name_zh === s || c.name_en.toLowerCase() === low) return { category: c.code, name: s };
  }
  return { category: '', name: s };
}

/**
 * Rows of a table (from parseCSV) with a header row, in the contract's equipment format
 * (customer_id optional). Returns {items, notes, customers, sources, header}: items are
 * {category, name, rated_kw, quantity, standby} with raw strings for the numbers so that
 * the form shows (and flags) exactly what the file says; sources[i] is item i's row as
 * text (cells joined by `delim`) and header the header row so (e.g. to give back the rows
 * that were not loaded).
 * @param {readonly (readonly string[])[]} rows
 * @param {readonly Category[]} categories
 * @param {BooleanWords} booleanWords the catalog's `boolean_words`
 * @param {string} [delim] the delimiter the sources are joined with
 * @returns {ImportResult}
 */
export function tableToEquipment(rows, categories, booleanWords, delim = ',') {
  /** @type {Note[]} */
  const notes = [];
  if (!rows.length) return { items: [], notes: [{ key: 'import_empty' }], customers: [] };
  const header = readHeader(rows[0]);
  if (!header) {
    return { items: [], notes: [{ key: 'import_no_header' }], customers: [] };
  }
  const codes = new Set(categories.map((c) => c.code));
  /** @type {string[]} */
  const customers = [];
  /** @type {ImportedItem[]} */
  const items = [];
  /** @type {string[]} */
  const sources = [];
  let skipped = 0;
  let unknownCategory = 0;
  let badStandby = 0;
  for (const r of rows.slice(1)) {
    /** @param {string} k */
    const get = (k) => (k in header ? String(r[header[k]] ?? '').trim() : '');
    const cust = get('customer_id');
    if (cust && !customers.includes(cust)) customers.push(cust);
    const kw = get('rated_kw');
    let category = get('category');
    let name = get('name');
    if (!kw && !category && !name) { skipped += 1; continue; }
    if (category && !codes.has(category)) {
      const res = resolveCategoryText(category, categories);
      if (res.category) category = res.category;
      else { unknownCategory += 1; name = name || category; category = ''; }
    }
    if (!category && name) {
      const res = resolveCategoryText(name, categories);
      if (res.category) category = res.category;
    }
    const sb = get('standby');
    let standby = parseBool(sb, booleanWords);
    if (standby === undefined) { badStandby += 1; standby = false; }
    items.push({ customer_id: cust, category, name, rated_kw: kw, quantity: get('quantity') || '1', standby });
    sources.push(r.join(delim));
  }
  if (skipped) notes.push({ key: 'import_skipped_blank', params: { n: skipped } });
  if (unknownCategory) notes.push({ key: 'import_unknown_category', params: { n: unknownCategory } });
  if (badStandby) notes.push({ key: 'import_bad_standby', params: { n: badStandby } });
  return { items, notes, customers, sources, header: rows[0].join(delim) };
}

/**
 * Rows pasted from a spreadsheet. Without a recognised header the columns are:
 * name-or-category, rated kW, quantity (default 1), standby (default no). A first row
 * whose kW cell is not a number is taken as a header and skipped.
 * @param {unknown} text
 * @param {readonly Category[]} categories
 * @param {BooleanWords} booleanWords the catalog's `boolean_words`
 * @returns {ImportResult}
 */
export function pastedToEquipment(text, categories, booleanWords) {
  const src = String(text ?? '').replace(/^\uFEFF/, '');
  const delim = src.includes('\t') ? '\t' : sniffDelimiter(src);
  const rows = parseCSV(src, delim).map((r) => r.map((c) => c.trim()));
  if (!rows.length) return { items: [], notes: [{ key: 'import_empty' }], customers: [] };
  if (readHeader(rows[0])) return tableToEquipment(rows, categories, booleanWords, delim);
  /** @type {Note[]} */
  const notes = [];
  let body = rows;
  const kw0 = parseNumber(rows[0][1]);
  // A header's kW cell holds no figure ('功率(kW)'); '32kVA' is a line's power, not a header.
  const headerLike = rows[0].length >= 2 && (kw0 === null || Number.isNaN(kw0)) && !/\d/.test(String(rows[0][1] ?? ''));
  // One column: its first cell is a header when it is a column name (名称, 设备清单, name).
  const oneColumnHeader = rows.length > 1 && rows[0].length === 1 && ['name', 'category'].includes(String(headerKey(rows[0][0])));
  if (headerLike || oneColumnHeader) {
    body = rows.slice(1);
    notes.push({ key: 'import_header_skipped' });
  }
  let badStandby = 0;
  /** @type {ImportedItem[]} */
  const items = [];
  /** @type {string[]} */
  const sources = [];
  for (const r of body) {
    if (r.every((c) => c === '')) continue;
    sources.push(r.join(delim));
    const { category, name } = resolveCategoryText(r[0], categories);
    let standby = r.length > 3 ? parseBool(r[3], booleanWords) : false;
    if (standby === undefined) { badStandby += 1; standby = false; }
    items.push({ category, name, rated_kw: r[1] ?? '', quantity: r[2] || '1', standby });
  }
  if (badStandby) notes.push({ key: 'import_bad_standby', params: { n: badStandby } });
  return { items, notes, customers: [], sources, header: body === rows ? null : rows[0].join(delim) };
}
