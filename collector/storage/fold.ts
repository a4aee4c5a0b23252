/**
 * The backend-neutral part of ingest, merge and the time-driven refresh: once a backend has read
 * the stored profile and stored the batch's new events, what the profile becomes, its segment,
 * what changed against the stored key and custom segments, and the `Change` told to listeners.
 * Pure (no SQL): SQLite (sqlite/profiles.ts) and PostgreSQL (pg/profiles.ts) share it, so both
 * evaluate and record exactly the same things.
 */
import { contactOfKey } from '../identity/token.ts';
import {
  applyEvent,
  diffSegments,
  emptyProfile,
  evaluate,
  mergeProfiles,
  type EngineConfig,
  type Extras,
  type Profile,
  type RfmBreakpoints,
  type SegmentChange,
} from '../engine/index.ts';
import type { Segment } from '../../shared/segment.ts';
import type { Change, NewEvent } from './contract.ts';

/** A stored profile row as ingest and merge read it: the aggregate and what was last evaluated. */
export interface ProfileRow {
  profile: Profile;
  updated: number;
  /** The segment key stored at the last write. */
  key: string;
  segments: string[];
}

export interface Settled {
  segment: Segment;
  before: { key: string | null; segments: string[] };
  changes: SegmentChange[];
  change: Change | null;
}

/**
 * A batch's events folded into the stored profile (or a new one): `inserted[i]` says whether the
 * batch's event i was stored now (false: a duplicate id, counted when it first arrived). Bot events
 * are stored, never applied. `cause` is the last event applied (segment changes name it).
 */
export function foldStored(
  stored: ProfileRow | undefined,
  batch: readonly NewEvent[],
  inserted: readonly boolean[],
  engine: EngineConfig,
  now: number,
): { profile: Profile; accepted: number; applied: number; cause: string | null } {
  let profile = stored?.profile ?? emptyProfile(batch[0]?.ts ?? now);
  let accepted = 0;
  let applied = 0;
  let cause: string | null = null;
  for (const [i, e] of batch.entries()) {
    if (!inserted[i]) continue;
    accepted++;
    if (e.bot) continue;
    applied++;
    cause = e.id;
    profile = applyEvent(profile, e, engine);
  }
  return { profile, accepted, applied, cause };
}

/**
 * After a batch: `profile` is the stored one (or a new one) with the batch's new non-bot events
 * applied (`applied` of them). `key` is the profile written (the visitor's id or `c:<contact>`).
 * No event applied records no change: a change made by time alone is the refresh's to record.
 */
export function settleIngest(
  site: string,
  visitor: string,
  key: string,
  stored: ProfileRow | undefined,
  profile: Profile,
  applied: number,
  engine: EngineConfig,
  now: number,
  traits: Extras['traits'],
  rfm: RfmBreakpoints | null,
): Settled {
  // Known when the events fold into a contact's profile: rules on `known` must agree with the sweep's evaluation.
  const segment = evaluate(
    profile,
    { site, visitor, known: contactOfKey(key) !== null },
    engine,
    now,
    {
      traits,
      rfm,
    },
  );
  const before = { key: stored?.key ?? null, segments: stored?.segments ?? [] };
  // Compared with the state stored at the last write: a change made by time alone shows here.
  const changes =
    applied > 0 ? diffSegments(before, { key: segment.segment, segments: segment.segments }) : [];
  const change =
    changes.length > 0 ? { site, visitor, profile: key, before, segment, changes, at: now } : null;
  return { segment, before, changes, change };
}

/** Profile `source` (of visitor `from`) folded into `into`'s (`target`, when it has one). */
export function settleMerge(
  site: string,
  from: string,
  into: string,
  source: ProfileRow,
  target: ProfileRow | undefined,
  engine: EngineConfig,
  now: number,
  traits: Extras['traits'],
  rfm: RfmBreakpoints | null,
): Settled & { profile: Profile } {
  const profile = target ? mergeProfiles(target.profile, source.profile, engine) : source.profile;
  const segment = evaluate(profile, { site, visitor: into, known: true }, engine, now, {
    traits,
    rfm,
  });
  const before = { key: target?.key ?? null, segments: target?.segments ?? [] };
  const changes = diffSegments(before, { key: segment.segment, segments: segment.segments });
  const change =
    changes.length > 0
      ? { site, visitor: from, profile: into, before, segment, changes, at: now }
      : null;
  return { profile, segment, before, changes, change };
}

/** A stored profile evaluated again at `now`: the change time alone made, or null. */
export function settleRefresh(
  site: string,
  key: string,
  profile: Profile,
  before: { key: string; segments: string[] },
  engine: EngineConfig,
  now: number,
  traits: Extras['traits'],
  rfm: RfmBreakpoints | null,
): (Settled & { change: Change }) | null {
  const segment = evaluate(
    profile,
    { site, visitor: key, known: contactOfKey(key) !== null },
    engine,
    now,
    {
      traits,
      rfm,
    },
  );
  const changes = diffSegments(before, { key: segment.segment, segments: segment.segments });
  if (changes.length === 0) return null;
  return {
    segment,
    before,
    changes,
    change: heard(
      { site, visitor: key, profile: key, before, segment, changes, at: now },
      engine.quiet,
    ),
  };
}

/**
 * The change as the listeners hear it: the entries and exits of `quiet` segments (a runtime rule
 * being backfilled) left out, and `before` showing them as they are now, so a webhook sees no
 * transition of theirs. The history and the stored membership keep them all.
 */
function heard(change: Change, quiet: readonly string[] | undefined): Change {
  if (!quiet || quiet.length === 0) return change;
  const changes = change.changes.filter((c) => c.kind === 'key' || !quiet.includes(c.name));
  if (changes.length === change.changes.length) return change;
  const now = change.segment.segments;
  const segments = [
    ...change.before.segments.filter((s) => !quiet.includes(s)),
    ...now.filter((s) => quiet.includes(s)),
  ];
  return { ...change, before: { ...change.before, segments }, changes };
}
