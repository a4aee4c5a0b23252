/**
 * `value`, known to be there (an index below the length, a key just checked, a row a constraint
 * guarantees) where TypeScript cannot see it. If it is not, the code is wrong: this throws,
 * naming `what`, instead of letting an `undefined` travel on.
 */
export function must<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`microseg: ${what} is missing`);
  return value;
}
