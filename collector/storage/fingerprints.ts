/** Shared by both backends' version polls. */
/** The rows of a versions query (one per table and site) as one fingerprint per site. */
export function fingerprints(rows: readonly { site: string; v: string }[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of [...rows].sort((a, b) => (a.v < b.v ? -1 : 1)))
    out.set(r.site, `${out.get(r.site) ?? ''}${r.v};`);
  return out;
}
