/** Segment history: what changed between the segment stored at the last write and the new one. */

export interface SegmentChange {
  /** `key`: the microsegment key changed; `entered`/`exited`: a custom segment's membership did. */
  kind: 'key' | 'entered' | 'exited';
  /** The new key, or the custom segment's name. */
  name: string;
  /** The key before (null for a first event); null for custom segments. */
  previous: string | null;
}

export function diffSegments(
  before: { key: string | null; segments: readonly string[] },
  after: { key: string; segments: readonly string[] },
): SegmentChange[] {
  const changes: SegmentChange[] = [];
  if (before.key !== after.key)
    changes.push({ kind: 'key', name: after.key, previous: before.key });
  for (const s of before.segments)
    if (!after.segments.includes(s)) changes.push({ kind: 'exited', name: s, previous: null });
  for (const s of after.segments)
    if (!before.segments.includes(s)) changes.push({ kind: 'entered', name: s, previous: null });
  return changes;
}
