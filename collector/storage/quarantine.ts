/**
 * The quarantine's policy, backend-neutral: how much refused traffic a site keeps and the capped
 * payload each kept refusal stores (the rows are the backend's, collector/storage/sqlite/quarantine.ts).
 */
import { LIMITS } from '../../shared/limits.ts';
import type { RefusedEvent } from '../../shared/wire.ts';

/** Levels of a refused event written out in quarantine; deeper values are kept as "…". */
const PAYLOAD_DEPTH = 8;

/**
 * The raw event as JSON, cut to the cap (a cut payload ends with "…"). Written by hand, with a
 * depth and a size bound, because the event can be any shape a client sent: JSON.stringify (and
 * String() of an array) recurse once per level and throw a RangeError on a 12,000-deep array,
 * which turned a refusal into a 500 and lost the batch's valid events.
 */
export function capPayload(raw: unknown): string {
  const max = LIMITS.quarantinePayloadBytes;
  const text = boundedJson(raw, max);
  if (Buffer.byteLength(text) <= max) return text;
  return `${Buffer.from(text)
    .subarray(0, max - 3)
    .toString('utf8')
    .replace(/\uFFFD$/, '')}…`;
}

/** The JSON of a value written whole (a scalar, or a stand-in past the depth), or undefined. */
function leafJson(v: unknown, depth: number, budget: number): string | undefined {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > budget ? v.slice(0, budget) : v);
  if (typeof v !== 'object') return 'null';
  if (depth >= PAYLOAD_DEPTH) return '"…"';
  return undefined;
}

/** JSON of `value` down to PAYLOAD_DEPTH levels, stopping soon after `budget` characters. */
function boundedJson(value: unknown, budget: number): string {
  let out = '';
  const write = (v: unknown, depth: number): void => {
    if (out.length > budget) return;
    const leaf = leafJson(v, depth, budget);
    if (leaf !== undefined) {
      out += leaf;
      return;
    }
    // Only objects and arrays are left (leafJson answers for everything else).
    if (typeof v !== 'object' || v === null) return;
    const array = Array.isArray(v);
    out += array ? '[' : '{';
    let first = true;
    for (const key of array ? v.keys() : Object.keys(v)) {
      if (out.length > budget) break;
      if (!first) out += ',';
      first = false;
      if (!array) out += `${JSON.stringify(key)}:`;
      write((v as Record<string | number, unknown>)[key], depth + 1);
    }
    out += array ? ']' : '}';
  };
  write(value, 0);
  return out;
}

/** How much of a site's refused traffic is kept (site config `quarantine`, docs/operations.md). */
export interface QuarantinePolicy {
  /** Rows kept per site and UTC day; refusals beyond it are only counted. */
  rowsPerDay: number;
  /** Days a row is kept (a site's shorter `retentionDays` wins). */
  keepDays: number;
}

export const DEFAULT_QUARANTINE: QuarantinePolicy = { rowsPerDay: 1000, keepDays: 30 };

/** One refused event to keep: whose (the sender's visitor id, if any), why, and as sent. */
export interface Refusal {
  visitor: string | null;
  refused: RefusedEvent;
  raw: unknown;
}
