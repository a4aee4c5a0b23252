/**
 * Queries of identity (a storage module next to storage.ts): which contact a visitor is linked
 * to, and the traits and campaign attribution of a profile. A profile id is a visitor id, or
 * `c:<contact>` for a known contact (see `contactKey`).
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from './db/open.ts';
import { links, profileMeta } from './db/schema.ts';
import { contactKey } from './identity/token.ts';
import type { Attribution, Traits } from './identity/traits.ts';

export interface Meta extends Attribution {
  traits: Traits;
}

export interface Subject {
  /** The profile the visitor's events fold into: its own id, or its contact's `c:<contact>`. */
  key: string;
  contact: string | null;
}

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

export function identityStore(db: Db) {
  const p = sql.placeholder;
  const sqlite = db.$client;

  const selectLink = db
    .select({ contact: links.contact })
    .from(links)
    .where(and(eq(links.site, p('site')), eq(links.visitor, p('visitor'))))
    .prepare();
  const upsertLink = db
    .insert(links)
    .values({ site: p('site'), visitor: p('visitor'), contact: p('contact'), linkedAt: p('at') })
    .onConflictDoUpdate({ target: [links.site, links.visitor], set: { contact: sql`excluded.contact`, linkedAt: sql`excluded.linked_at` } })
    .prepare();
  const insertSelfLink = db
    .insert(links)
    .values({ site: p('site'), visitor: p('visitor'), contact: p('contact'), linkedAt: p('at') })
    .onConflictDoNothing()
    .prepare();
  const selectLinked = db
    .select({ visitor: links.visitor })
    .from(links)
    .where(and(eq(links.site, p('site')), eq(links.contact, p('contact'))))
    .prepare();
  // Read on every ingested batch: a plain statement, no per-call row mapping.
  const selectMeta = sqlite
    .prepare<[string, string], [traits: string, firstTouch: string | null, lastTouch: string | null]>(
      'SELECT traits, first_touch, last_touch FROM profile_meta WHERE site = ? AND visitor = ?',
    )
    .raw();
  const upsertMeta = db
    .insert(profileMeta)
    .values({ site: p('site'), visitor: p('visitor'), traits: p('traits'), firstTouch: p('first'), lastTouch: p('last'), updated: p('at') })
    .onConflictDoUpdate({
      target: [profileMeta.site, profileMeta.visitor],
      set: { traits: sql`excluded.traits`, firstTouch: sql`excluded.first_touch`, lastTouch: sql`excluded.last_touch`, updated: sql`excluded.updated` },
    })
    .prepare();
  const deleteMeta = db
    .delete(profileMeta)
    .where(and(eq(profileMeta.site, p('site')), eq(profileMeta.visitor, p('visitor'))))
    .prepare();

  function meta(site: string, key: string): Meta | undefined {
    const row = selectMeta.get(site, key);
    if (!row) return undefined;
    return { traits: JSON.parse(row[0]) as Traits, first: parse(row[1]), last: parse(row[2]) };
  }

  return {
    /** The profile a visitor's events fold into (reads are served by storage's READ_PATH_SQL). */
    subject(site: string, visitor: string): Subject {
      const contact = selectLink.get({ site, visitor })?.contact ?? null;
      return { key: contact === null ? visitor : contactKey(contact), contact };
    },
    contactOf(site: string, visitor: string): string | null {
      return selectLink.get({ site, visitor })?.contact ?? null;
    },
    /** A contact exists once a link, a click or a trait named it. */
    contactExists(site: string, contact: string): boolean {
      return selectLink.get({ site, visitor: contactKey(contact) }) !== undefined;
    },
    /** Records the contact (its own profile id linked to itself); a no-op when known. */
    ensureContact(site: string, contact: string, now: number) {
      insertSelfLink.run({ site, visitor: contactKey(contact), contact, at: now });
    },
    link(site: string, visitor: string, contact: string, now: number) {
      upsertLink.run({ site, visitor, contact, at: now });
    },
    /** Visitor ids linked to the contact (its own `c:` id included). */
    linkedVisitors(site: string, contact: string): string[] {
      return selectLinked.all({ site, contact }).map((r) => r.visitor);
    },
    meta,
    setMeta(site: string, key: string, m: Meta, now: number) {
      upsertMeta.run({
        site,
        visitor: key,
        traits: JSON.stringify(m.traits),
        first: m.first ? JSON.stringify(m.first) : null,
        last: m.last ? JSON.stringify(m.last) : null,
        at: now,
      });
    },
    deleteMeta(site: string, key: string) {
      deleteMeta.run({ site, visitor: key });
    },
  };
}

export type IdentityStore = ReturnType<typeof identityStore>;
