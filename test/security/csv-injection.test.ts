/**
 * Issue 12, defect 12: the CSV export left cells such as `-A1` and `-B2-C3` as they were because
 * they looked like ids; a spreadsheet reads `-A1` as a formula (minus cell A1). Now every text
 * cell a spreadsheet could run — a leading `=`, `+`, `-`, `@` (ASCII or full-width), tab or CR,
 * also after leading whitespace — gets a leading apostrophe, ids included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvCell } from '../../collector/storage/export.ts';
import { API_KEY, collector, type Collector } from './support.ts';

/** RFC 4180 rows of a CSV text. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  return rows;
}

/** What a spreadsheet would take as the start of a formula. */
const ACTIVE = /^[\s]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|^[\t\r]/;

const VISITORS = ['-A1', '-B2-C3', '-1', '--x'];
const CONTACTS = [
  '=1+1',
  ' =2+2',
  '@SUM(A1)',
  '+3',
  '\u3000=4',
  '\uFF1DHYPERLINK("http://evil.example")',
  '-A1:B2',
];
const CATEGORIES = ['-2+3+cmd|x', ' @x', '=x', '+y'];

let c: Collector;
beforeAll(async () => {
  c = await collector({ sites: { shop: { apiKeys: [API_KEY] } } });
  const events = [
    ...VISITORS.map((visitor, i) => ({
      site: 'shop',
      visitor,
      type: 'page_view',
      category: CATEGORIES[i % 4],
    })),
    ...CONTACTS.map((contact, i) => ({
      site: 'shop',
      contact,
      type: 'page_view',
      category: CATEGORIES[i % 4],
    })),
  ];
  const res = await c.api('POST', '/v1/events', { events });
  expect(res.json()).toMatchObject({ accepted: events.length });
});
afterAll(() => c.close());

describe('CSV export', () => {
  it('neutralises every spreadsheet-active cell, id-shaped ones included', async () => {
    const res = await c.api('GET', '/v1/segments/key:*:*:*/members?site=shop&format=csv');
    expect(res.status).toBe(200);
    const rows = parseCsv(res.text);
    expect(rows.length).toBe(1 + VISITORS.length + CONTACTS.length);
    const cells = rows.flat();
    for (const cell of cells) expect(ACTIVE.test(cell), JSON.stringify(cell)).toBe(false);
    // Readable: the value is there after one apostrophe.
    for (const v of VISITORS) expect(cells).toContain(`'${v}`);
    for (const k of CONTACTS) expect(cells).toContain(`'${k}`);
    expect(cells).toContain(`'-2+3+cmd|x`);
  });

  it('leaves NDJSON as it is (no spreadsheet reads it)', async () => {
    const res = await c.api('GET', '/v1/segments/key:*:*:*/members?site=shop&format=ndjson');
    const visitors = res.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).visitor);
    expect(visitors).toEqual(expect.arrayContaining(VISITORS));
  });

  it('csvCell: plain text and numbers unchanged, quoting per RFC 4180', () => {
    expect(csvCell('V1StGXR8_Z5jdHi6B-myT')).toBe('V1StGXR8_Z5jdHi6B-myT');
    expect(csvCell(12.5)).toBe('12.5');
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell('\t=1')).toBe("'\t=1");
    expect(csvCell('\r=1')).toBe(`"'\r=1"`);
    expect(csvCell(['=a', 'b'])).toBe("'=a;b");
  });
});
