/** The most rows one listing returns (CLI and admin API pages). */
export const MAX_PAGE = 1000;

/** A page size as given (`--limit`, `?limit=`): a whole number from 1 to MAX_PAGE, else null. */
export function parsePageLimit(raw: unknown, fallback: number): number | null {
  const limit = Number(raw ?? fallback);
  return Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE ? limit : null;
}
