// Unit tests of the page's CSV and paste parsers (node's test runner: `make test`).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  parseBool,
  parseCSV,
  parseNumber,
  pastedToEquipment,
  readHeader,
  resolveCategoryText,
  sniffDelimiter,
  tableToEquipment,
  toHalfWidth,
} from '../../serving/web/static/csv.js';

// The words come from the catalog (GET /api/catalog `boolean_words`, features/contract.py);
// a few of them stand in here, the parser has no list of its own.
const WORDS = { true: ['true', 'yes', '是', '备用', '✓'], false: ['false', 'no', '否', '-'] };

const CATEGORIES = [
  { code: 'pump', name_zh: '水泵', name_en: 'Pumps' },
  { code: 'machine_tool', name_zh: '金属冷加工机床', name_en: 'Metal-cutting machine tools' },
];

test('parseCSV reads quotes, escaped quotes, line breaks in quotes and a BOM', () => {
  const rows = parseCSV('\uFEFFa,"b ""c"""\r\n1,"two\nlines"\n\n3,4');
  assert.deepEqual(rows, [['a', 'b "c"'], ['1', 'two\nlines'], ['3', '4']]);
});

test('sniffDelimiter picks the separator outside quotes', () => {
  assert.equal(sniffDelimiter('a;b;"c,d"\n1;2;3'), ';');
  assert.equal(sniffDelimiter('a\tb\tc'), '\t');
  assert.equal(sniffDelimiter('single'), ',');
});

test('parseNumber accepts full-width digits, separators and units; NaN otherwise', () => {
  assert.equal(toHalfWidth('７．５'), '7.5');
  assert.equal(parseNumber('７．５kW'), 7.5);
  assert.equal(parseNumber('1,200'), 1200);
  assert.equal(parseNumber('12台'), 12);
  assert.equal(parseNumber(''), null);
  assert.ok(Number.isNaN(parseNumber('7,5kw')));
  assert.ok(Number.isNaN(parseNumber('abc')));
});

test('parseBool reads the words it is given and nothing else', () => {
  for (const word of WORDS.true) assert.equal(parseBool(word, WORDS), true, word);
  for (const word of WORDS.false) assert.equal(parseBool(word, WORDS), false, word);
  assert.equal(parseBool(' YES ', WORDS), true);
  assert.equal(parseBool('', WORDS), false);
  assert.equal(parseBool('maybe', WORDS), undefined);
});

test('parseBool uses the words it is given (the catalog)', () => {
  const words = { true: ['oui'], false: ['non'] };
  assert.equal(parseBool('oui', words), true);
  assert.equal(parseBool('non', words), false);
  assert.equal(parseBool('是', words), undefined);
  assert.equal(parseBool('', words), false);
});

test('readHeader needs a rating and a category or name column', () => {
  assert.deepEqual(readHeader(['设备名称', '额定功率(kW)', '数量']), { name: 0, rated_kw: 1, quantity: 2 });
  assert.equal(readHeader(['foo', 'bar']), null);
});

test('resolveCategoryText maps codes and names, else keeps free text', () => {
  assert.deepEqual(resolveCategoryText('pump', CATEGORIES), { category: 'pump', name: '' });
  assert.deepEqual(resolveCategoryText('水泵', CATEGORIES), { category: 'pump', name: '水泵' });
  assert.deepEqual(resolveCategoryText('数控车床', CATEGORIES), { category: '', name: '数控车床' });
});

test('tableToEquipment reads a contract file and counts what it could not read', () => {
  const rows = parseCSV(
    'customer_id,category,rated_kw,quantity,standby,name\n' +
      'C1,pump,15,2,是,备用水泵\n' +
      'C1,bogus,7.5,1,,车床\n' +
      'C1,pump,3,1,maybe,\n',
  );
  const result = tableToEquipment(rows, CATEGORIES, WORDS);
  assert.deepEqual(result.customers, ['C1']);
  assert.equal(result.items.length, 3);
  assert.deepEqual(result.items[0], {
    customer_id: 'C1', category: 'pump', name: '备用水泵', rated_kw: '15', quantity: '2', standby: true,
  });
  assert.equal(result.items[1].category, '');
  assert.equal(result.items[1].name, '车床');
  assert.equal(result.items[2].standby, false);
  const keys = result.notes.map((n) => n.key);
  assert.deepEqual(keys, ['import_unknown_category', 'import_bad_standby']);
});

test('tableToEquipment without a header says so', () => {
  assert.deepEqual(tableToEquipment([['a', 'b']], CATEGORIES, WORDS).notes, [{ key: 'import_no_header' }]);
  assert.deepEqual(tableToEquipment([], CATEGORIES, WORDS).notes, [{ key: 'import_empty' }]);
});

test('pastedToEquipment takes name, kW, quantity, standby and skips a header row', () => {
  const result = pastedToEquipment('清单\t备注\n水泵\t7.5\t2\t是\n数控车床\t11', CATEGORIES, WORDS);
  assert.equal(result.items.length, 2);
  assert.deepEqual(result.items[0], { category: 'pump', name: '水泵', rated_kw: '7.5', quantity: '2', standby: true });
  assert.deepEqual(result.items[1], { category: '', name: '数控车床', rated_kw: '11', quantity: '1', standby: false });
  assert.deepEqual(result.notes, [{ key: 'import_header_skipped' }]);
});

test('a one-column paste does not import its header as a line', () => {
  const result = pastedToEquipment('设备名称\n空压机 37kW 2台\n冰箱', CATEGORIES, WORDS);
  assert.deepEqual(result.items.map((i) => i.name), ['空压机 37kW 2台', '冰箱']);
  assert.deepEqual(result.notes, [{ key: 'import_header_skipped' }]);
  // Without a header word the first line is a line.
  assert.equal(pastedToEquipment('空压机 37kW\n冰箱', CATEGORIES, WORDS).items.length, 2);
});

test('a first row whose kW cell is a power with a unit is a line, not a header', () => {
  const result = pastedToEquipment('电焊机\t32kVA\n水泵\t7.5', CATEGORIES, WORDS);
  assert.equal(result.items.length, 2);
  assert.equal(result.items[0].rated_kw, '32kVA');
});

test('kVA is not read as kW by the page (the server converts it with a power factor)', () => {
  assert.ok(Number.isNaN(parseNumber('60kVA')));
  assert.equal(parseNumber('60kW'), 60);
});
