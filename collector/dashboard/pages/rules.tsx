/**
 * The Rules page (`/dashboard/rules`): the site's custom segments — the config file's (read-only)
 * and those saved at runtime — with their state and members; the templates, each added with one
 * button; and the builder (`/dashboard/rules/new`, `/dashboard/rules/:name/edit`), a form whose
 * condition is the rule's JSON. Without JavaScript the JSON is edited as text and Preview is a
 * button; with it (client/rules.ts) conditions are picked from lists, the JSON follows, and the
 * preview count updates as you edit. Every change goes through collector/rules/manage.ts, as the
 * `/v1/rules` API's do, and each POST is behind the session and the CSRF check (app.ts).
 */
import { type Context, Hono } from 'hono';
import { RULE_LIMITS } from '../../../shared/limits.ts';
import type { SiteConfig } from '../../config/config.ts';
import { readJson } from '../../http/body.ts';
import type { Deps } from '../../http/app.ts';
import type { Preview } from '../../rules/preview.ts';
import {
  addTemplate,
  deleteRule,
  getRule,
  listRules,
  previewBody,
  type RuleView,
  saveRule,
  templateById,
  vocabulary,
} from '../../rules/manage.ts';
import type { RuleProblem } from '../../rules/runtime.ts';
import { TEMPLATES } from '../../rules/templates.ts';
import { segmentSummaries } from '../../storage/audience.ts';
import { fmt } from '../format.ts';
import type { DashEnv } from '../guard.ts';
import { CsrfField, errorPage, href, Layout, Notice, page, pageSite } from '../layout.tsx';
import { FigureTable } from '../table.tsx';
import { personHref } from './segments.tsx';

const LIST = '/dashboard/rules';
const ruleHref = (name: string, action: 'edit' | 'delete') =>
  `${LIST}/${encodeURIComponent(name)}/${action}`;

/** What the builder form holds: as loaded, or as sent back when it was refused or previewed. */
interface Draft {
  mode: 'new' | 'edit';
  name: string;
  description: string;
  public: boolean;
  /** The condition's JSON text, as typed. */
  when: string;
}

const pretty = (when: unknown) => JSON.stringify(when, null, 2);

/** "42 profiles match now" or "at least 42" when the preview stopped early. */
export function previewSentence(p: Preview): string {
  const n = `${p.partial ? 'At least ' : ''}${fmt(p.count)} ${p.count === 1 ? 'profile matches' : 'profiles match'} now`;
  const how = p.partial
    ? `the preview stopped after ${fmt(p.scanned)} profiles (${fmt(p.tookMs)} ms)`
    : `${fmt(p.scanned)} profiles looked at in ${fmt(p.tookMs)} ms`;
  return `${n}: ${how}.`;
}

function RuleState(props: { r: RuleView }) {
  const { r } = props;
  if (!r.inForce) return <span class="error">Not in force: {r.problem}</span>;
  if (r.backfill === 'pending') return <>In force; members being computed</>;
  return <>In force</>;
}

function ListPage(props: {
  site: SiteConfig;
  rules: RuleView[];
  members: Map<string, number>;
  notice: string | null;
  session: Parameters<typeof CsrfField>[0]['session'];
}) {
  const { site, rules } = props;
  const saved = rules.filter((r) => r.source === 'api').length;
  return (
    <>
      <Notice text={props.notice} />
      <p class="note">
        Custom segments of site <strong>{site.id}</strong>. A saved rule is in force at once in
        every collector process; the members of existing profiles are computed in the background.
        Rules of the config file are changed there. {fmt(saved)} of {fmt(RULE_LIMITS.rulesPerSite)}{' '}
        saved rules.
      </p>
      <p>
        <a class="button" href={href(`${LIST}/new`, site.id)}>
          New rule
        </a>
      </p>
      {rules.length === 0 ? (
        <p>No custom segment yet: start from a template below, or a new rule.</p>
      ) : (
        <FigureTable
          id="rules"
          class="rules"
          caption={<>Custom segments of site {site.id}</>}
          cols={[
            'Rule',
            { label: 'Condition', wideOnly: true },
            { label: 'Members', num: true },
            'State',
            { label: <span class="visually-hidden">Actions</span> },
          ]}
        >
          {rules.map((r) => (
            <tr data-rule={r.name}>
              <th scope="row">
                <code>{r.name}</code>
                {r.description ? (
                  <>
                    <br />
                    <span class="note">{r.description}</span>
                  </>
                ) : null}
                <br />
                <span class="note">
                  {r.source === 'config' ? 'config file' : 'saved'}
                  {r.public ? ', public' : ''}
                </span>
              </th>
              <td class="wide-only">
                <code class="when">{JSON.stringify(r.when)}</code>
              </td>
              <td class="num">
                <a href={href('/dashboard/segments', site.id, { segment: r.name })}>
                  {fmt(props.members.get(r.name) ?? 0)}
                </a>
              </td>
              <td>
                <RuleState r={r} />
              </td>
              <td class="actions">
                {r.readOnly ? (
                  <span class="note">read-only</span>
                ) : (
                  <>
                    <a href={href(ruleHref(r.name, 'edit'), site.id)}>
                      Edit<span class="visually-hidden"> rule {r.name}</span>
                    </a>{' '}
                    <a href={href(ruleHref(r.name, 'delete'), site.id)}>
                      Delete<span class="visually-hidden"> rule {r.name}</span>…
                    </a>
                  </>
                )}
              </td>
            </tr>
          ))}
        </FigureTable>
      )}
      <section class="card templates" aria-labelledby="templates-h">
        <h2 id="templates-h">Templates</h2>
        <p class="note">
          The recipes of the docs, ready to add as they are or to change in the builder first.
        </p>
        <ul class="templates">
          {TEMPLATES.map((t) => {
            const taken = rules.some((r) => r.name === t.id);
            return (
              <li data-template={t.id}>
                <strong>{t.title}</strong> <span class="note">{t.rule.description}</span>
                <span class="template-actions">
                  {taken ? (
                    <span class="note">added as {t.id}</span>
                  ) : (
                    <form method="post" action={href(`${LIST}/templates/${t.id}`, site.id)}>
                      <CsrfField session={props.session} />
                      <button type="submit">
                        Add<span class="visually-hidden"> template {t.title}</span>
                      </button>
                    </form>
                  )}{' '}
                  <a
                    class="button secondary"
                    href={href(`${LIST}/new`, site.id, { template: t.id })}
                  >
                    Open in builder<span class="visually-hidden">: {t.title}</span>
                  </a>
                </span>
              </li>
            );
          })}
        </ul>
      </section>
    </>
  );
}

function Problems(props: { message: string; problems: RuleProblem[] }) {
  return (
    <div class="problems" role="alert" id="rule-problems">
      <p class="error">{props.message}</p>
      {props.problems.length > 0 ? (
        <ul>
          {props.problems.map((p) => (
            <li>
              <code>{p.path || '(rule)'}</code>: {p.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function Builder(props: {
  site: SiteConfig;
  draft: Draft;
  refusal?: { message: string; problems: RuleProblem[] } | undefined;
  preview?: Preview | undefined;
  session: Parameters<typeof CsrfField>[0]['session'];
}) {
  const { site, draft, preview } = props;
  const editing = draft.mode === 'edit';
  return (
    <>
      {props.refusal ? <Problems {...props.refusal} /> : null}
      <form
        method="post"
        action={href(LIST, site.id)}
        class="card rule-form"
        id="rule-form"
        data-vocabulary={JSON.stringify(vocabulary(site))}
        data-preview={href(`${LIST}/preview`, site.id)}
      >
        <CsrfField session={props.session} />
        <input type="hidden" name="mode" value={draft.mode} />
        <p class="field">
          <label for="rule-name">Name</label>
          <input
            type="text"
            id="rule-name"
            name="name"
            value={draft.name}
            required
            maxlength={64}
            pattern="[A-Za-z0-9._\-]{1,64}"
            readonly={editing}
            aria-describedby="rule-name-help"
          />
          <span class="note" id="rule-name-help">
            {editing
              ? 'The segment name pages and webhooks use; to rename, save a new rule and delete this one.'
              : 'The segment name pages and webhooks use: letters, digits, dot, dash, underscore.'}
          </span>
        </p>
        <p class="field">
          <label for="rule-description">Description</label>
          <input
            type="text"
            id="rule-description"
            name="description"
            value={draft.description}
            maxlength={500}
          />
        </p>
        <p class="field check">
          <input
            type="checkbox"
            id="rule-public"
            name="public"
            value="1"
            checked={draft.public}
            aria-describedby="rule-public-help"
          />
          <label for="rule-public">Public</label>
          <span class="note" id="rule-public-help">
            Shown to the browser (page rules, <code>window.microseg</code>) even if it reads private
            facts such as money spent or a private trait.
          </span>
        </p>
        <fieldset class="conditions" id="rule-builder" hidden>
          <legend>Conditions</legend>
        </fieldset>
        <p class="field">
          <label for="rule-when">Condition (JSON)</label>
          <textarea
            id="rule-when"
            name="when"
            rows={12}
            spellcheck={false}
            required
            aria-describedby="rule-when-help"
          >
            {draft.when}
          </textarea>
          <span class="note" id="rule-when-help">
            The rule's <code>when</code> (the format of docs/segments.md). The conditions above
            write it; you may also edit it here.
          </span>
        </p>
        <div class="preview">
          <p id="rule-preview" role="status" aria-live="polite">
            {preview
              ? previewSentence(preview)
              : 'Preview counts the profiles this condition matches now, without saving it.'}
          </p>
          <ul id="rule-sample" class="sample" aria-label="Some of them">
            {(preview?.sample ?? []).map((m) => (
              <li>
                <a href={personHref(m, site.id)}>{m}</a>
              </li>
            ))}
          </ul>
        </div>
        <p class="buttons">
          <button type="submit" name="intent" value="save">
            Save rule
          </button>{' '}
          <button type="submit" name="intent" value="preview" class="secondary">
            Preview
          </button>{' '}
          <a href={href(LIST, site.id)}>Cancel</a>
        </p>
      </form>
    </>
  );
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function rulesPage(deps: Deps) {
  const app = new Hono<DashEnv>();

  const builder = (
    c: Context<DashEnv>,
    site: SiteConfig,
    draft: Draft,
    extra: {
      refusal?: { message: string; problems: RuleProblem[] };
      preview?: Preview;
      status?: 200 | 400 | 404 | 409 | 413 | 429;
    } = {},
  ) =>
    page(
      c,
      <Layout
        title={draft.mode === 'edit' ? `Edit rule ${draft.name}` : 'New rule'}
        session={c.var.session}
        site={site.id}
        active="rules"
      >
        <Builder
          site={site}
          draft={draft}
          refusal={extra.refusal}
          preview={extra.preview}
          session={c.var.session}
        />
      </Layout>,
      extra.status ?? 200,
    );

  app.get(LIST, async (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const { rules } = listRules(deps, site);
    const summaries = await segmentSummaries(deps.storage, site);
    const members = new Map(
      summaries.filter((s) => s.kind === 'custom').map((s) => [s.name, s.members]),
    );
    const saved = c.req.query('saved');
    const added = c.req.query('added');
    const deleted = c.req.query('deleted');
    const notice = saved
      ? `Rule ${saved} is saved and in force.`
      : added
        ? `Template added as rule ${added}, in force.`
        : deleted
          ? `Rule ${deleted} is deleted.`
          : null;
    return page(
      c,
      <Layout title="Rules" session={c.var.session} site={site.id} active="rules">
        <ListPage
          site={site}
          rules={rules}
          members={members}
          notice={notice}
          session={c.var.session}
        />
      </Layout>,
    );
  });

  app.get(`${LIST}/new`, (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const id = c.req.query('template');
    const template = id === undefined ? undefined : templateById(id);
    if (id !== undefined && !template)
      return errorPage(c, 404, 'New rule', `There is no template "${id}".`, site.id);
    return builder(c, site, {
      mode: 'new',
      name: template?.id ?? '',
      description: template?.rule.description ?? '',
      public: template?.rule.public ?? false,
      when: pretty(template?.rule.when ?? { count: { type: 'page_view', within: '7d' }, gte: 1 }),
    });
  });

  app.get(`${LIST}/:name/edit`, (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const name = c.req.param('name');
    const rule = getRule(deps, site, name);
    if (!rule)
      return errorPage(c, 404, 'Edit rule', `Site ${site.id} has no rule "${name}".`, site.id);
    if (rule.readOnly)
      return errorPage(
        c,
        409,
        'Edit rule',
        `"${name}" is a rule of the config file: change it there.`,
        site.id,
      );
    return builder(c, site, {
      mode: 'edit',
      name,
      description: rule.description ?? '',
      public: rule.public,
      when: pretty(rule.when),
    });
  });

  // Save or preview the builder's form (the button pressed says which).
  app.post(LIST, async (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const form = await c.req.parseBody();
    const draft: Draft = {
      mode: form.mode === 'edit' ? 'edit' : 'new',
      name: str(form.name).trim(),
      description: str(form.description).trim(),
      public: form.public === '1',
      when: str(form.when),
    };
    let when: unknown;
    try {
      when = JSON.parse(draft.when);
    } catch (err) {
      return builder(c, site, draft, {
        refusal: {
          message: `The condition is not valid JSON: ${(err as Error).message}`,
          problems: [],
        },
        status: 400,
      });
    }
    const body = {
      when,
      ...(draft.description ? { description: draft.description } : {}),
      ...(draft.public ? { public: true } : {}),
    };
    if (form.intent === 'preview') {
      const res = await previewBody(deps, site, body);
      if (!res.ok)
        return builder(c, site, draft, {
          refusal: { message: res.message, problems: res.problems ?? [] },
          status: res.status,
        });
      return builder(c, site, draft, { preview: res.value });
    }
    // A new rule never replaces one of the same name by accident: that is what Edit is for.
    if (draft.mode === 'new' && getRule(deps, site, draft.name))
      return builder(c, site, draft, {
        refusal: {
          message: `Site ${site.id} already has a rule "${draft.name}": edit it, or give this one another name.`,
          problems: [],
        },
        status: 409,
      });
    const res = await saveRule(deps, site, draft.name, body);
    if (!res.ok)
      return builder(c, site, draft, {
        refusal: {
          message: res.problems ? 'The rule was not saved:' : res.message,
          problems: res.problems ?? [],
        },
        status: res.status,
      });
    return c.redirect(href(LIST, site.id, { saved: draft.name }), 303);
  });

  // The builder's live preview (client/rules.ts): `{"when": …}` in, the count as JSON out.
  app.post(`${LIST}/preview`, async (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const read = await readJson(c, RULE_LIMITS.ruleBytes);
    if (!read.ok) return c.json({ error: read.error, message: read.message }, read.status);
    const res = await previewBody(deps, site, read.value);
    if (!res.ok)
      return c.json(
        { error: res.error, message: res.message, problems: res.problems ?? [] },
        res.status,
      );
    return c.json({
      ...res.value,
      sentence: previewSentence(res.value),
      sample: res.value.sample.map((id) => ({ id, href: personHref(id, site.id) })),
    });
  });

  app.post(`${LIST}/templates/:id`, async (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const id = c.req.param('id');
    if (getRule(deps, site, id))
      return errorPage(
        c,
        409,
        'Template not added',
        `Site ${site.id} already has a rule "${id}": open the template in the builder to save it under another name.`,
        site.id,
      );
    const res = await addTemplate(deps, site, id);
    if (!res.ok) return errorPage(c, res.status, 'Template not added', res.message, site.id);
    return c.redirect(href(LIST, site.id, { added: res.value.rule.name }), 303);
  });

  app.get(`${LIST}/:name/delete`, (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const name = c.req.param('name');
    const rule = getRule(deps, site, name);
    if (!rule || rule.readOnly)
      return errorPage(
        c,
        rule ? 409 : 404,
        'Delete rule',
        rule
          ? `"${name}" is a rule of the config file: remove it there.`
          : `Site ${site.id} has no rule "${name}".`,
        site.id,
      );
    return page(
      c,
      <Layout title={`Delete rule ${name}?`} session={c.var.session} site={site.id} active="rules">
        <form method="post" action={href(ruleHref(name, 'delete'), site.id)} class="card">
          <CsrfField session={c.var.session} />
          <p>
            Segment <code>{name}</code> stops at once in every collector process, and its stored
            members are removed in the background. Pages and webhooks that name it find nothing.
          </p>
          <p>
            <button type="submit" class="danger">
              Delete rule {name}
            </button>{' '}
            <a href={href(LIST, site.id)}>Cancel</a>
          </p>
        </form>
      </Layout>,
    );
  });

  app.post(`${LIST}/:name/delete`, async (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const res = await deleteRule(deps, site, c.req.param('name'));
    if (!res.ok) return errorPage(c, res.status, 'Rule not deleted', res.message, site.id);
    return c.redirect(href(LIST, site.id, { deleted: res.value.name }), 303);
  });

  return app;
}
