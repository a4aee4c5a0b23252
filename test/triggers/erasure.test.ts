/** Erasure leaves no row of the person in any table; retention deletes old events and keeps profiles. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../collector/cli/cli.ts';
import { linkVisitor } from '../../collector/identity/identify.ts';
import { runRetention } from '../../collector/jobs/retention.ts';
import type { Storage } from '../../collector/storage/contract.ts';
import { BACKEND, databaseArg, row, rows } from '../support/backend.ts';
import { collectRequest, DAY, T0 } from '../helpers.ts';
import { shopConfig, triggersApp } from './setup.ts';

let t: Awaited<ReturnType<typeof triggersApp>>;
afterEach(async () => {
  vi.restoreAllMocks();
  await t?.close();
});

/**
 * Every table of the database (from the catalog, so tables added later are covered) → rows whose
 * any column holds `needle`: sqlite_master and table_info on SQLite, information_schema on PostgreSQL.
 */
async function rowsMentioning(storage: Storage, needle: string): Promise<Record<string, number>> {
  const pg = BACKEND === 'postgres';
  const out: Record<string, number> = {};
  const tables = await rows<{ name: string }>(
    storage,
    pg
      ? `select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`
      : `select name from sqlite_master where type = 'table'`,
  );
  for (const { name: table } of tables) {
    const cols = (
      await rows<{ name: string }>(
        storage,
        pg
          ? `select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = ?`
          : `select name from pragma_table_info(?)`,
        table,
      )
    ).map((c) => c.name);
    const has = (c: string) =>
      pg ? `strpos(cast("${c}" as text), ?) > 0` : `instr(cast("${c}" as text), ?) > 0`;
    const where = cols.map(has).join(' or ');
    const found = await row<{ n: number }>(
      storage,
      `select count(*) as n from "${table}" where ${where}`,
      ...cols.map(() => needle),
    );
    if (found && found.n > 0) out[table] = found.n;
  }
  return out;
}

const camera = (n: number) => ({ url: `http://localhost:8787/cameras/${n}` });
const DEAD = 'http://127.0.0.1:9/hook'; // nothing listens: deliveries stay in the outbox

async function person(visitor: string) {
  for (let i = 0; i < 3; i++) await t.collect(visitor, camera(i));
  // One refused event, kept in quarantine with the visitor's id.
  await t.app.request(
    collectRequest({
      site: 'shop',
      visitor,
      events: [{ id: `${visitor}-bad`, type: 'page_view', ts: 'yesterday' }],
    }),
  );
}

describe('erasure', () => {
  it('DELETE /v1/contacts/:id removes the contact, its linked visitors and every row of theirs in every table', async () => {
    t = await triggersApp(shopConfig(DEAD));
    const site = t.config.sites.get('shop')!;
    await person('victim');
    await person('bystander');
    await t.storage.write((tx) =>
      linkVisitor(tx, site, 'victim', 'alice@example.com', 'grantAAAAAA', t.clock.now),
    );
    await t.collect('victim', camera(9));
    await t.storage.write((tx) =>
      linkVisitor(tx, site, 'victimphone', 'alice@example.com', 'grantAAAAAA', t.clock.now),
    );
    await t.collect('victimphone', camera(10));
    expect(
      (
        await t.api('/v1/contacts/alice@example.com/traits?site=shop', {
          method: 'PUT',
          body: '{"age_band":"25-50"}',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(200);

    const before = {
      ...(await rowsMentioning(t.storage, 'victim')),
      ...(await rowsMentioning(t.storage, 'alice@example.com')),
    };
    // The person really is in every kind of table first, or the check below would prove nothing.
    for (const table of [
      'events',
      'profiles',
      'segment_changes',
      'webhook_deliveries',
      'quarantine',
      'links',
      'profile_meta',
    ]) {
      expect(before[table], table).toBeGreaterThan(0);
    }
    const bystander = await rowsMentioning(t.storage, 'bystander');

    const res = await t.api('/v1/contacts/alice@example.com?site=shop', { method: 'DELETE' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.contact).toBe('alice@example.com');
    expect(body.visitors.sort()).toEqual(['c:alice@example.com', 'victim', 'victimphone']);
    expect(body.removed.events).toBe(5);
    expect(body.removed.links).toBe(3);
    expect(body.total).toBe(
      Object.values(body.removed as Record<string, number>).reduce((a, b) => a + b, 0),
    );

    expect(await rowsMentioning(t.storage, 'victim')).toEqual({});
    expect(await rowsMentioning(t.storage, 'alice@example.com')).toEqual({});
    expect(await rowsMentioning(t.storage, 'bystander')).toEqual(bystander);
    // Idempotent: a second erasure finds nothing.
    expect(
      (await (await t.api('/v1/contacts/alice@example.com?site=shop', { method: 'DELETE' })).json())
        .total,
    ).toBe(0);
  });

  it('DELETE /v1/contacts/:id also removes the refused server events that named the contact', async () => {
    t = await triggersApp(shopConfig(DEAD));
    const send = (events: unknown[]) =>
      t.api('/v1/events', {
        method: 'POST',
        body: JSON.stringify({ events }),
        headers: { 'content-type': 'application/json' },
      });
    expect(
      (await send([{ site: 'shop', contact: 'bob@example.com', type: 'purchase', value: 20 }]))
        .status,
    ).toBe(200);
    // Refused (bad value), so it is kept in quarantine, its payload naming the contact.
    expect(
      (await send([{ site: 'shop', contact: 'bob@example.com', type: 'purchase', value: 'lots' }]))
        .status,
    ).toBe(400);
    expect((await rowsMentioning(t.storage, 'bob@example.com')).quarantine).toBe(1);

    const res = await t.api('/v1/contacts/bob@example.com?site=shop', { method: 'DELETE' });
    expect((await res.json()).removed.quarantine).toBe(1);
    expect(await rowsMentioning(t.storage, 'bob@example.com')).toEqual({});
  });

  it('DELETE /v1/visitors/:id and `microseg forget` remove one visitor everywhere', async () => {
    t = await triggersApp(shopConfig(DEAD));
    await person('erased');
    await person('cliforgot');
    await person('stays');
    const stays = await rowsMentioning(t.storage, 'stays');
    expect(Object.keys(stays).sort()).toEqual([
      'events',
      'profiles',
      'quarantine',
      'segment_changes',
      'webhook_cooldowns',
      'webhook_deliveries',
    ]);

    const res = await t.api('/v1/visitors/erased?site=shop', { method: 'DELETE' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      site: 'shop',
      visitors: ['erased'],
      contact: null,
      removed: { events: 3, profiles: 1, quarantine: 1, webhook_deliveries: 1 },
    });
    expect(await rowsMentioning(t.storage, 'erased')).toEqual({});

    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(
      await main([
        'forget',
        '--db',
        databaseArg(t.storage),
        '--site',
        'shop',
        '--visitor',
        'cliforgot',
      ]),
    ).toBe(0);
    expect(JSON.parse(out.mock.calls[0]![0] as string)).toMatchObject({
      visitors: ['cliforgot'],
      removed: { events: 3, profiles: 1 },
    });
    expect(await rowsMentioning(t.storage, 'cliforgot')).toEqual({});
    expect(await rowsMentioning(t.storage, 'stays')).toEqual(stays);

    expect((await t.api('/v1/visitors/bad%20id?site=shop', { method: 'DELETE' })).status).toBe(400);
    expect((await t.app.request('/v1/visitors/stays?site=shop', { method: 'DELETE' })).status).toBe(
      401,
    );
    expect(await main(['forget', '--db', databaseArg(t.storage), '--site', 'shop'])).toBe(2);
  });
});

describe('retention', () => {
  it('deletes events older than retentionDays in the background and leaves profiles and segments as they were', async () => {
    t = await triggersApp(shopConfig(DEAD, { retentionDays: 30 }), { now: T0 - 40 * DAY });
    await person('old'); // 40 days ago: three events, one refused, segment history
    t.clock.now = T0 - 10 * DAY;
    await t.collect('old', camera(5));
    // An import of old history that arrived recently stays until it is as old on arrival too.
    await t.storage.write((tx) =>
      tx.ingest(
        'shop',
        'imported',
        [{ id: 'imp1', type: 'page_view', ts: T0 - 60 * DAY, category: 'cameras' }],
        t.config.sites.get('shop')!.engine,
        T0 - DAY,
      ),
    );
    t.clock.now = T0;

    const profiles = () => rows(t.storage, `select * from profiles order by visitor`);
    const segment = async () => (await t.app.request('/v1/segment?site=shop&visitor=old')).json();
    const profilesBefore = await profiles();
    const segmentBefore = await segment();
    expect(await t.storage.countEvents('shop')).toBe(5);

    const pruned = await runRetention(t.storage, t.config, T0, 2); // tiny batches: several rounds
    expect(pruned.shop).toMatchObject({ events: 3, quarantine: 1 });
    expect(pruned.shop!.segment_changes).toBeGreaterThan(0);
    expect(await rows(t.storage, `select visitor, id from events order by visitor`)).toEqual([
      { visitor: 'imported', id: 'imp1' },
      expect.objectContaining({ visitor: 'old' }),
    ]);
    expect(await profiles()).toEqual(profilesBefore);
    expect(await segment()).toEqual(segmentBefore);
    // Sites without retentionDays are left alone.
    expect((await runRetention(t.storage, t.config, T0 + 365 * DAY)).shop).toMatchObject({
      events: 2,
    });
  });
});
