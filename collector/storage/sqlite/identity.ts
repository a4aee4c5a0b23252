/**
 * Identity queries of the SQLite backend: which contact a visitor is linked
 * to, and the traits and campaign attribution of a profile. A profile id is a visitor id, or
 * `c:<contact>` for a known contact (see `contactKey`).
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from './open.ts';
import { links, profileMeta } from './schema.ts';
import { contactKey } from '../../identity/token.ts';
import type { Traits } from '../../identity/traits.ts';
import { must } from '../../../shared/must.ts';
import type { LinkRow, Meta, Subject } from '../contract.ts';

/** `expires` of a contact's own row: never. */
export const NEVER = 8_640_000_000_000_000;

const parse = <T>(text: string | null): T | null =>
  text === null ? null : (JSON.parse(text) as T);

export function identityStore(db: Db) {
  const p = sql.placeholder;
  const sqlite = db.$client;

  const selectLink = db
    .select({ contact: links.contact, expires: links.expires, grant: links.grantId })
    .from(links)
    .where(and(eq(links.site, p('site')), eq(links.visitor, p('visitor'))))
    .prepare();
  const upsertLink = db
    .insert(links)
    .values({
      site: p('site'),
      visitor: p('visitor'),
      contact: p('contact'),
      linkedAt: p('at'),
      expires: p('expires'),
      grantId: p('grant'),
    })
    .onConflictDoUpdate({
      target: [links.site, links.visitor],
      set: {
        contact: sql`excluded.contact`,
        linkedAt: sql`excluded.linked_at`,
        expires: sql`excluded.expires`,
        grantId: sql`excluded.grant_id`,
      },
    })
    .prepare();
  const insertSelfLink = db
    .insert(links)
    .values({
      site: p('site'),
      visitor: p('visitor'),
      contact: p('contact'),
      linkedAt: p('at'),
      expires: NEVER,
    })
    .onConflictDoNothing()
    .prepare();
  // Along links_grant: the devices one email link has identified (lapsed ones still count).
  const countGrant = sqlite
    .prepare<[string, string, string], number>(
      'SELECT count(*) FROM links WHERE site = ? AND grant_id = ? AND visitor <> ?',
    )
    .pluck();
  const selectLinked = db
    .select({ visitor: links.visitor })
    .from(links)
    .where(and(eq(links.site, p('site')), eq(links.contact, p('contact'))))
    .prepare();
  // Read on every ingested batch: a plain statement, no per-call row mapping.
  const selectMeta = sqlite
    .prepare<
      [string, string],
      [traits: string, firstTouch: string | null, lastTouch: string | null]
    >('SELECT traits, first_touch, last_touch FROM profile_meta WHERE site = ? AND visitor = ?')
    .raw();
  const upsertMeta = db
    .insert(profileMeta)
    .values({
      site: p('site'),
      visitor: p('visitor'),
      traits: p('traits'),
      firstTouch: p('first'),
      lastTouch: p('last'),
      updated: p('at'),
    })
    .onConflictDoUpdate({
      target: [profileMeta.site, profileMeta.visitor],
      set: {
        traits: sql`excluded.traits`,
        firstTouch: sql`excluded.first_touch`,
        lastTouch: sql`excluded.last_touch`,
        updated: sql`excluded.updated`,
      },
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
    /**
     * The profile a visitor's events fold into at `now` (reads are served by storage's
     * READ_PATH_SQL): its contact's while the link is in force, else its own.
     */
    subject(site: string, visitor: string, now: number): Subject {
      const row = selectLink.get({ site, visitor });
      const contact = row && row.expires > now ? row.contact : null;
      return { key: contact === null ? visitor : contactKey(contact), contact };
    },
    /** The visitor's link row, in force or lapsed; null when never linked. */
    linkOf(site: string, visitor: string): LinkRow | null {
      return selectLink.get({ site, visitor }) ?? null;
    },
    /** Visitors other than `except` the grant (one email link) has linked, lapsed ones included. */
    grantDevices(site: string, grant: string, except: string): number {
      return must(countGrant.get(site, grant, except), 'count(*) row');
    },
    /** A contact exists once a link, a click or a trait named it. */
    contactExists(site: string, contact: string): boolean {
      return selectLink.get({ site, visitor: contactKey(contact) }) !== undefined;
    },
    /** Records the contact (its own profile id linked to itself); a no-op when known. */
    ensureContact(site: string, contact: string, now: number) {
      insertSelfLink.run({ site, visitor: contactKey(contact), contact, at: now });
    },
    /** Links (or renews) the visitor to the contact until `expires`, recording the email link that did. */
    link(
      site: string,
      visitor: string,
      contact: string,
      grant: string | null,
      expires: number,
      now: number,
    ) {
      upsertLink.run({ site, visitor, contact, at: now, expires, grant });
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
