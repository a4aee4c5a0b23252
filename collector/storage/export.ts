/**
 * Segment exports as CSV or NDJSON, streamed: rows are pulled from a cursor only as fast as the
 * client reads, so memory stays flat whatever the audience size.
 */
import { parseSegmentKey } from '../../shared/segment.ts';
import type { MemberRow } from './contract.ts';
import { contactOfKey } from '../identity/token.ts';

export type ExportFormat = 'csv' | 'ndjson';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'ndjson'];

/** One exported member: ids, segment fields and activity, flat enough for an email tool's import. */
export interface ExportedMember {
  /** The anonymous visitor id; null for a known contact's profile. */
  visitor: string | null;
  /** The contact id of a known contact's profile (stored as `c:<contact>`). */
  contact: string | null;
  segment: string;
  lifecycle: string;
  category: string | null;
  engagement: string;
  segments: string[];
  purchases: number;
  monetary: number;
  first_seen: string;
  last_seen: string;
}

const CSV_COLUMNS: (keyof ExportedMember)[] = [
  'visitor',
  'contact',
  'segment',
  'lifecycle',
  'category',
  'engagement',
  'segments',
  'purchases',
  'monetary',
  'first_seen',
  'last_seen',
];

function exportedMember(row: MemberRow): ExportedMember {
  const contact = contactOfKey(row.visitor);
  return {
    visitor: contact === null ? row.visitor : null,
    contact,
    segment: row.segment,
    ...parseSegmentKey(row.segment),
    segments: JSON.parse(row.segments) as string[],
    purchases: row.purchases,
    monetary: row.monetary,
    first_seen: new Date(row.firstSeen).toISOString(),
    last_seen: new Date(row.lastSeen).toISOString(),
  };
}

/**
 * What a spreadsheet may read as the start of a formula: `=`, `+`, `-`, `@` (or their full-width
 * forms, which some spreadsheets fold to ASCII), also after leading whitespace, and a leading tab
 * or CR. No exception for id-shaped text: `-A1` is "minus cell A1" and `-B2-C3` a sum.
 */
const SPREADSHEET_ACTIVE = /^(?:\s*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|[\t\r])/;

/**
 * RFC 4180 quoting; a text cell a spreadsheet could run gets a leading apostrophe (shown by none,
 * and the rest of the value stays readable). Numbers are the export's own numeric columns and
 * stay numbers.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  let s = Array.isArray(value) ? value.join(';') : String(value);
  if (SPREADSHEET_ACTIVE.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function formatMember(m: ExportedMember, format: ExportFormat): string {
  return format === 'ndjson'
    ? `${JSON.stringify(m)}\n`
    : `${CSV_COLUMNS.map((c) => csvCell(m[c])).join(',')}\r\n`;
}

/** Rows per chunk: big enough to amortize the stream's overhead, small enough to stay a few tens of KB. */
const CHUNK_ROWS = 500;

/**
 * A byte stream of the members. `pull` runs only when the consumer wants more (the default
 * high-water mark of one chunk), which is the backpressure; a cancel (client gone) or an error
 * ends the iteration, which releases the backend's snapshot.
 */
export function exportStream(
  members: AsyncIterable<MemberRow>,
  format: ExportFormat,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const rows = members[Symbol.asyncIterator]();
  const stop = async () => {
    await rows.return?.();
  };
  let header = format === 'csv';
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        let text = '';
        if (header) {
          text = `${CSV_COLUMNS.join(',')}\r\n`;
          header = false;
        }
        for (let i = 0; i < CHUNK_ROWS; i++) {
          const next = await rows.next();
          if (next.done) {
            if (text) controller.enqueue(encoder.encode(text));
            controller.close();
            return;
          }
          text += formatMember(exportedMember(next.value), format);
        }
        controller.enqueue(encoder.encode(text));
      } catch (err) {
        await stop().catch(() => {});
        controller.error(err);
      }
    },
    cancel: stop,
  });
}
