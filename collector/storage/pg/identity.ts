/**
 * Identity queries of the PostgreSQL backend (the same as sqlite/identity.ts): which contact a
 * visitor is linked to, and the traits and campaign attribution of a profile. A profile id is a
 * visitor id, or `c:<contact>` for a known contact. Each call takes the Queryable to run on: the
 * pool outside a write job, the job's client inside one.
 */
import { contactKey } from '../../identity/token.ts';
import type { Traits } from '../../identity/traits.ts';
import type { LinkRow, Meta, Subject } from '../contract.ts';
import { NEVER } from '../sqlite/identity.ts';
import type { Queryable } from './db.ts';

const parse = <T>(text: string | null): T | null =>
  text === null ? null : (JSON.parse(text) as T);

const SELECT_LINK = {
  name: 'microseg_select_link',
  text: 'SELECT contact, expires, grant_id FROM links WHERE site = $1 AND visitor = $2',
};
const UPSERT_LINK = {
  name: 'microseg_upsert_link',
  text: `INSERT INTO links (site, visitor, contact, linked_at, expires, grant_id) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (site, visitor) DO UPDATE SET contact = excluded.contact, linked_at = excluded.linked_at,
           expires = excluded.expires, grant_id = excluded.grant_id`,
};
const INSERT_SELF_LINK = {
  name: 'microseg_insert_self_link',
  text: `INSERT INTO links (site, visitor, contact, linked_at, expires) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING`,
};
const COUNT_GRANT = {
  name: 'microseg_count_grant',
  text: 'SELECT count(*) AS n FROM links WHERE site = $1 AND grant_id = $2 AND visitor <> $3',
};
const SELECT_LINKED = {
  name: 'microseg_select_linked',
  text: 'SELECT visitor FROM links WHERE site = $1 AND contact = $2',
};
const SELECT_META = {
  name: 'microseg_select_meta',
  text: 'SELECT traits, first_touch, last_touch FROM profile_meta WHERE site = $1 AND visitor = $2',
};
const UPSERT_META = {
  name: 'microseg_upsert_meta',
  text: `INSERT INTO profile_meta (site, visitor, traits, first_touch, last_touch, updated) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (site, visitor) DO UPDATE SET traits = excluded.traits, first_touch = excluded.first_touch,
           last_touch = excluded.last_touch, updated = excluded.updated`,
};
const DELETE_META = {
  name: 'microseg_delete_meta',
  text: 'DELETE FROM profile_meta WHERE site = $1 AND visitor = $2',
};

/** A profile_meta row's columns as a Meta; undefined without a row (null traits). */
export function metaOf(
  traits: string | null,
  first: string | null,
  last: string | null,
): Meta | undefined {
  if (traits === null) return undefined;
  return { traits: JSON.parse(traits) as Traits, first: parse(first), last: parse(last) };
}

interface LinkDbRow {
  contact: string;
  expires: number;
  grant_id: string | null;
}

async function linkOf(q: Queryable, site: string, visitor: string): Promise<LinkRow | null> {
  const { rows } = await q.query<LinkDbRow>({ ...SELECT_LINK, values: [site, visitor] });
  const row = rows[0];
  return row ? { contact: row.contact, expires: row.expires, grant: row.grant_id } : null;
}

export const identityPg = {
  /** The profile a visitor's events fold into at `now`: its contact's while the link is in force. */
  async subject(q: Queryable, site: string, visitor: string, now: number): Promise<Subject> {
    const row = await linkOf(q, site, visitor);
    const contact = row && row.expires > now ? row.contact : null;
    return { key: contact === null ? visitor : contactKey(contact), contact };
  },
  linkOf,
  async grantDevices(q: Queryable, site: string, grant: string, except: string): Promise<number> {
    const { rows } = await q.query<{ n: number }>({
      ...COUNT_GRANT,
      values: [site, grant, except],
    });
    return rows[0]?.n ?? 0;
  },
  /** A contact exists once a link, a click or a trait named it. */
  async contactExists(q: Queryable, site: string, contact: string): Promise<boolean> {
    return (await linkOf(q, site, contactKey(contact))) !== null;
  },
  async linkedVisitors(q: Queryable, site: string, contact: string): Promise<string[]> {
    const { rows } = await q.query<{ visitor: string }>({
      ...SELECT_LINKED,
      values: [site, contact],
    });
    return rows.map((r) => r.visitor);
  },
  async meta(q: Queryable, site: string, key: string): Promise<Meta | undefined> {
    const { rows } = await q.query<{
      traits: string;
      first_touch: string | null;
      last_touch: string | null;
    }>({ ...SELECT_META, values: [site, key] });
    const row = rows[0];
    return row && metaOf(row.traits, row.first_touch, row.last_touch);
  },
  /** Records the contact (its own profile id linked to itself); a no-op when known. */
  async ensureContact(q: Queryable, site: string, contact: string, now: number): Promise<void> {
    await q.query({
      ...INSERT_SELF_LINK,
      values: [site, contactKey(contact), contact, now, NEVER],
    });
  },
  async link(
    q: Queryable,
    site: string,
    visitor: string,
    contact: string,
    grant: string | null,
    expires: number,
    now: number,
  ): Promise<void> {
    await q.query({ ...UPSERT_LINK, values: [site, visitor, contact, now, expires, grant] });
  },
  async setMeta(q: Queryable, site: string, key: string, m: Meta, now: number): Promise<void> {
    await q.query({
      ...UPSERT_META,
      values: [
        site,
        key,
        JSON.stringify(m.traits),
        m.first ? JSON.stringify(m.first) : null,
        m.last ? JSON.stringify(m.last) : null,
        now,
      ],
    });
  },
  async deleteMeta(q: Queryable, site: string, key: string): Promise<void> {
    await q.query({ ...DELETE_META, values: [site, key] });
  },
};
