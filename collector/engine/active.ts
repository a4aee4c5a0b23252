/**
 * What a rule says about a profile's last event, read from the rule alone: the rule preview's
 * prefilter (rules/preview.ts). A count that 0 fails (`gte 3`, `gt 0`, `eq 2`) or a sequence
 * needs an event of the window log in (now − within, now]; a profile's `lastSeen` is at least the
 * time of each of its window entries (applyEvent and mergeProfiles take the max), so such a
 * condition can only hold for a profile with `lastSeen > now − within`, and the scan need not
 * read or parse the others.
 *
 * Only requirements every match must meet may prune: a condition at the top, or inside `all`
 * (every branch holds, so each branch's requirement does; the narrowest wins). Under `any` a
 * match may take the other branch, and under `not` a requirement turns into its opposite, so
 * neither contributes (conservative: an `any` whose branches all require would be sound too, but
 * is left out for simplicity). test/engine/rules-active.test.ts checks the pruned count against
 * the full one over generated rules and profiles.
 */
import { OPS, parseDuration } from './rules.ts';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a count of 0 passes the condition's comparison (then it needs no event). */
function zeroPasses(node: Record<string, unknown>): boolean {
  const op = OPS.find((o) => Object.hasOwn(node, o));
  const v = op === undefined ? undefined : node[op];
  switch (op) {
    case 'eq':
      return v === 0;
    case 'ne':
      return v !== 0;
    case 'gt':
      return typeof v === 'number' && 0 > v;
    case 'gte':
      return typeof v === 'number' && 0 >= v;
    case 'lt':
      return typeof v === 'number' && 0 < v;
    case 'lte':
      return typeof v === 'number' && 0 <= v;
    case 'between':
      return (
        Array.isArray(v) &&
        typeof v[0] === 'number' &&
        v[0] <= 0 &&
        typeof v[1] === 'number' &&
        v[1] >= 0
      );
    case 'in':
      return Array.isArray(v) && v.includes(0);
    default:
      // Unknown shape (a compile problem): claim nothing.
      return true;
  }
}

/**
 * The narrowest span W (ms) such that the condition (compiled without problems) can hold only
 * for a profile with `lastSeen > now − W`; undefined when it gives no such bound.
 */
export function activeWithin(when: unknown): number | undefined {
  if (!isObject(when)) return undefined;
  if (isObject(when.count)) {
    if (zeroPasses(when)) return undefined;
    return parseDuration(when.count.within);
  }
  if (isObject(when.sequence)) {
    const did = when.sequence.did;
    return isObject(did) ? parseDuration(did.within) : undefined;
  }
  if (Array.isArray(when.all)) {
    let narrowest: number | undefined;
    for (const c of when.all) {
      const w = activeWithin(c);
      if (w !== undefined && (narrowest === undefined || w < narrowest)) narrowest = w;
    }
    return narrowest;
  }
  // fact, any, not: no bound.
  return undefined;
}
