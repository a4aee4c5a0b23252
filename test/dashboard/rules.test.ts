/**
 * The Rules page and its builder behind the session (no browser; the builder's own script runs in
 * test/e2e/dashboard-rules.test.ts): list, save, edit, preview, templates and delete through the
 * forms, each ending where `/v1/rules` says it should; refusals (no session, no CSRF token, a site
 * the session does not open, a bad rule with its path, a name taken, a body too large). Runs on
 * SQLite and PostgreSQL (PG_SUITES).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DASHBOARD } from '../../shared/limits.ts';
import { type ConfigFile, parseConfig } from '../../collector/config/config.ts';
import { createApp } from '../../collector/http/app.ts';
import { placeholderSnippets } from '../../collector/http/snippet-asset.ts';
import { type RuntimeRules, runtimeRules } from '../../collector/rules/runtime.ts';
import { T0, collectRequest, ev } from '../helpers.ts';
import { openTestStorage, type TestStorage } from '../support/backend.ts';
import { dashRequest, KEY_A, KEY_B, type Signed, signIn } from './support.ts';

const CONFIG: ConfigFile = {
  sites: {
    a: {
      origins: ['https://a.example'],
      apiKeys: [KEY_A],
      allowLocalhost: true,
      allowAutomation: true,
      rules: { 'from-config': { when: { fact: 'lifecycle', eq: 'newbie' } } },
    },
    b: { origins: ['https://b.example'], apiKeys: [KEY_B] },
  },
};
const CAM3 = { count: { type: 'page_view', category: 'cameras', within: '7d' }, gte: 3 };

let db: TestStorage;
let rules: RuntimeRules;
let app: ReturnType<typeof createApp>;
let me: Signed;

beforeEach(async () => {
  db = await openTestStorage();
  const config = parseConfig(CONFIG);
  rules = runtimeRules(db.storage, config, { checkMs: 60_000 });
  await rules.ready;
  app = createApp({
    storage: db.storage,
    config,
    now: () => T0,
    snippets: placeholderSnippets(),
    rules,
  });
  me = await signIn(app, KEY_A);
});
afterEach(async () => {
  rules.stop();
  await db.close();
});

const get = (path: string, who: Signed = me) =>
  dashRequest(app, path, { headers: { cookie: who.cookie } });

/** A builder form post, as the page sends it (same origin, the session's CSRF field). */
const post = (path: string, fields: Record<string, string>, who: Signed = me) =>
  dashRequest(app, path, {
    method: 'POST',
    headers: {
      cookie: who.cookie,
      origin: 'http://localhost',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ csrf: who.csrf, ...fields }).toString(),
  });

const save = (fields: Record<string, string>, site = 'a') =>
  post(`/dashboard/rules?site=${site}`, { mode: 'new', intent: 'save', ...fields });

/** The builder's live preview request, as client/rules.ts sends it (JSON, the CSRF header). */
const builderPreview = (when: unknown) =>
  dashRequest(app, '/dashboard/rules/preview?site=a', {
    method: 'POST',
    headers: {
      cookie: me.cookie,
      origin: 'http://localhost',
      'content-type': 'application/json',
      'x-csrf-token': me.csrf,
    },
    body: JSON.stringify({ when }),
  });

const api = (path: string, key = KEY_A, init: RequestInit = {}) =>
  app.request(`http://localhost${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  });
const apiRules = async (site = 'a', key = KEY_A) =>
  (
    (await (await api(`/v1/rules?site=${site}`, key)).json()) as {
      rules: { name: string; when: unknown; description: string | null; public: boolean }[];
    }
  ).rules;

/** `n` camera page views by `visitor`, an hour apart, ending now. */
async function views(visitor: string, n: number) {
  const events = Array.from({ length: n }, (_, i) =>
    ev({ ts: T0 - (n - i) * 3_600_000, category: 'cameras' }),
  );
  const res = await app.request(collectRequest({ site: 'a', visitor, events }));
  expect(res.status).toBe(200);
}

describe('the Rules page', () => {
  it('lists the config rule read-only and the templates, and is in the navigation', async () => {
    const res = await get('/dashboard/rules?site=a');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('data-rule="from-config"');
    expect(html).toMatch(/data-rule="from-config"[\s\S]*?read-only/);
    expect(html).not.toContain('/dashboard/rules/from-config/edit');
    for (const id of ['camera-curious', 'cart-abandoned', 'champions', 'md-women-25-50'])
      expect(html).toContain(`data-template="${id}"`);
    expect(html).toMatch(
      /<a class="navlink" href="\/dashboard\/rules\?site=a" aria-current="page">/,
    );
  });

  it('saves a new rule from the form, in force at once, and shows it in the list with its members', async () => {
    await views('v1', 3);
    const res = await save({
      name: 'cam3',
      description: 'three camera views',
      when: JSON.stringify(CAM3),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/rules?site=a&saved=cam3');
    const saved = (await apiRules()).find((r) => r.name === 'cam3');
    expect(saved).toMatchObject({ when: CAM3, description: 'three camera views', public: false });
    // In force now: the next read of the visitor has it.
    const seg = await app.request('http://localhost/v1/segment?site=a&visitor=v1');
    expect(((await seg.json()) as { segments: string[] }).segments).toContain('cam3');
    const list = await (await get('/dashboard/rules?site=a&saved=cam3')).text();
    expect(list).toContain('Rule cam3 is saved and in force.');
    expect(list).toContain('href="/dashboard/rules/cam3/edit?site=a"');
  });

  it('edits a saved rule (its name kept) and refuses a new one under a name in use', async () => {
    expect((await save({ name: 'cam3', when: JSON.stringify(CAM3) })).status).toBe(303);
    const form = await (await get('/dashboard/rules/cam3/edit?site=a')).text();
    expect(form).toMatch(/id="rule-name" name="name" value="cam3"[^>]*readonly/);
    expect(form).toContain('&quot;gte&quot;: 3');
    const changed = { ...CAM3, gte: 5 };
    const res = await post('/dashboard/rules?site=a', {
      mode: 'edit',
      intent: 'save',
      name: 'cam3',
      public: '1',
      when: JSON.stringify(changed),
    });
    expect(res.status).toBe(303);
    expect((await apiRules()).find((r) => r.name === 'cam3')).toMatchObject({
      when: changed,
      public: true,
    });
    const again = await save({ name: 'cam3', when: JSON.stringify(CAM3) });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('already has a rule &quot;cam3&quot;');
    expect((await apiRules()).find((r) => r.name === 'cam3')?.when).toEqual(changed);
  });

  it('shows a bad rule again with each problem and its path, and saves nothing', async () => {
    const bad = {
      all: [
        { count: { type: 'page_view', within: '7 days' }, gte: 3 },
        { fact: 'lifecyle', eq: 'x' },
      ],
    };
    const res = await save({ name: 'bad', when: JSON.stringify(bad) });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('role="alert"');
    expect(html).toContain('<code>when.all.0.count.within</code>');
    expect(html).toContain('<code>when.all.1.fact</code>');
    // What was typed is still in the form.
    expect(html).toContain('7 days');
    const notJson = await save({ name: 'bad', when: '{"count":' });
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).toContain('The condition is not valid JSON');
    const badName = await save({ name: 'no spaces', when: JSON.stringify(CAM3) });
    expect(badName.status).toBe(400);
    const configName = await save({ name: 'from-config', when: JSON.stringify(CAM3) });
    expect(configName.status).toBe(409);
    expect((await apiRules()).map((r) => r.name)).toEqual(['from-config']);
  });

  it('previews without saving: the form button and the builder JSON route count as POST /v1/rules/preview does', async () => {
    await views('v1', 3);
    await views('v2', 4);
    await views('v3', 1);
    const byForm = await post('/dashboard/rules?site=a', {
      mode: 'new',
      intent: 'preview',
      name: 'cam3',
      when: JSON.stringify(CAM3),
    });
    expect(byForm.status).toBe(200);
    const html = await byForm.text();
    expect(html).toMatch(
      /<p id="rule-preview" role="status" aria-live="polite">2 profiles match now/,
    );
    expect(html).toContain('href="/dashboard/visitors/v1?site=a"');
    const byApi = (await (
      await api('/v1/rules/preview?site=a', KEY_A, {
        method: 'POST',
        body: JSON.stringify({ when: CAM3 }),
      })
    ).json()) as { count: number };
    const byBuilder = await builderPreview(CAM3);
    expect(byBuilder.status).toBe(200);
    const body = (await byBuilder.json()) as {
      count: number;
      sentence: string;
      sample: { id: string; href: string }[];
    };
    expect(body.count).toBe(byApi.count);
    expect(body.count).toBe(2);
    expect(body.sentence).toMatch(/^2 profiles match now/);
    expect(body.sample.map((s) => s.id).sort()).toEqual(['v1', 'v2']);
    const bad = await builderPreview({ fact: 'lifecyle', eq: 'x' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { problems: { path: string }[] }).problems[0]?.path).toBe(
      'when.fact',
    );
    expect(await apiRules()).toHaveLength(1);
  });

  it('adds a template with one button, once; opens one in the builder', async () => {
    const res = await post('/dashboard/rules/templates/camera-curious?site=a', {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/rules?site=a&added=camera-curious');
    expect((await apiRules()).map((r) => r.name)).toContain('camera-curious');
    const twice = await post('/dashboard/rules/templates/camera-curious?site=a', {});
    expect(twice.status).toBe(409);
    expect((await post('/dashboard/rules/templates/nope?site=a', {})).status).toBe(404);
    const builder = await (await get('/dashboard/rules/new?site=a&template=cart-abandoned')).text();
    expect(builder).toContain('value="cart-abandoned"');
    expect(builder).toContain('&quot;sequence&quot;');
  });

  it('deletes after a confirmation page; a config rule cannot be', async () => {
    expect((await save({ name: 'cam3', when: JSON.stringify(CAM3) })).status).toBe(303);
    const confirm = await get('/dashboard/rules/cam3/delete?site=a');
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('Delete rule cam3</button>');
    expect((await apiRules()).map((r) => r.name)).toContain('cam3');
    const res = await post('/dashboard/rules/cam3/delete?site=a', {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/rules?site=a&deleted=cam3');
    expect((await apiRules()).map((r) => r.name)).not.toContain('cam3');
    expect((await get('/dashboard/rules/from-config/delete?site=a')).status).toBe(409);
    expect((await post('/dashboard/rules/from-config/delete?site=a', {})).status).toBe(409);
    expect((await post('/dashboard/rules/cam3/delete?site=a', {})).status).toBe(404);
  });
});

describe('who may change rules here', () => {
  it('no session: pages go to the sign-in form, changes are refused (401)', async () => {
    const page = await dashRequest(app, '/dashboard/rules?site=a');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/dashboard/login');
    const anon = await dashRequest(app, '/dashboard/rules?site=a', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        mode: 'new',
        intent: 'save',
        name: 'x',
        when: JSON.stringify(CAM3),
      }).toString(),
    });
    expect(anon.status).toBe(401);
    expect(await apiRules()).toHaveLength(1);
  });

  it('no CSRF token, or another origin: refused (403), nothing saved or previewed', async () => {
    const noToken = await dashRequest(app, '/dashboard/rules?site=a', {
      method: 'POST',
      headers: {
        cookie: me.cookie,
        origin: 'http://localhost',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        mode: 'new',
        intent: 'save',
        name: 'x',
        when: JSON.stringify(CAM3),
      }).toString(),
    });
    expect(noToken.status).toBe(403);
    const crossSite = await post('/dashboard/rules/templates/champions?site=a', {}, me);
    expect(crossSite.status).toBe(303); // the same form from this origin works…
    const evil = await dashRequest(app, '/dashboard/rules/champions/delete?site=a', {
      method: 'POST',
      headers: {
        cookie: me.cookie,
        origin: 'https://evil.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ csrf: me.csrf }).toString(),
    });
    expect(evil.status).toBe(403); // …from another, not even with the token
    const preview = await dashRequest(app, '/dashboard/rules/preview?site=a', {
      method: 'POST',
      headers: {
        cookie: me.cookie,
        origin: 'http://localhost',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ when: CAM3 }),
    });
    expect(preview.status).toBe(403);
    expect((await apiRules()).map((r) => r.name)).toEqual(['from-config', 'champions']);
  });

  it("a session of site A cannot see, save or delete site B's rules", async () => {
    const resB = await api('/v1/rules/keep?site=b', KEY_B, {
      method: 'PUT',
      body: JSON.stringify({ when: CAM3 }),
    });
    expect(resB.status).toBe(201);
    expect((await get('/dashboard/rules?site=b')).status).toBe(403);
    expect((await save({ name: 'x', when: JSON.stringify(CAM3) }, 'b')).status).toBe(403);
    expect((await post('/dashboard/rules/keep/delete?site=b', {})).status).toBe(403);
    expect((await post('/dashboard/rules/templates/champions?site=b', {})).status).toBe(403);
    expect((await apiRules('b', KEY_B)).map((r) => r.name)).toEqual(['keep']);
  });

  it('a form larger than DASHBOARD.formBytes is refused (413) before it is read', async () => {
    const res = await save({
      name: 'big',
      when: JSON.stringify(CAM3),
      description: 'x'.repeat(DASHBOARD.formBytes),
    });
    expect(res.status).toBe(413);
    expect(await apiRules()).toHaveLength(1);
  });
});
