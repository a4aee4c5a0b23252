/**
 * docs/deploy.md names commands, options, variables, metrics and other docs' sections; an operator
 * copies them as written, so each must exist in this version of the code.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../../collector/cli/cli.ts';
import { ENV_NAMES } from '../../collector/config/env.ts';
import { createMetrics } from '../../collector/http/metrics.ts';

const DOC = 'docs/deploy.md';
const doc = readFileSync(DOC, 'utf8');

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replaceAll(' ', '-');

describe('docs/deploy.md', () => {
  it('runs only commands and options the CLI has', () => {
    const uses = [...doc.matchAll(/(?:npx microseg|collector\.mjs|`microseg) ([a-z]+)([^`\n]*)/g)];
    expect(uses.length).toBeGreaterThan(5);
    const named = new Set<string>();
    for (const [, name = '', rest = ''] of uses) {
      const cmd = commands[name];
      expect(cmd, `microseg ${name}`).toBeDefined();
      named.add(name);
      for (const [, opt = ''] of rest.matchAll(/ --([a-z][a-z-]*)/g))
        expect(Object.keys(cmd?.options ?? {}), `microseg ${name} --${opt}`).toContain(opt);
    }
    expect([...named]).toEqual(expect.arrayContaining(['serve', 'backup']));
  });

  it('names only environment variables the collector reads', () => {
    const names = new Set([...doc.matchAll(/\bMICROSEG_[A-Z_]+\b/g)].map((m) => m[0]));
    expect(names.size).toBeGreaterThan(10);
    // config/env.ts validates every variable the collector reads (and refuses unknown ones).
    for (const name of names) expect(ENV_NAMES, name).toContain(name);
  });

  it('names only metrics the collector exports', async () => {
    const text = await createMetrics({ defaults: true }).registry.metrics();
    const names = new Set([...doc.matchAll(/\bmicroseg_[a-z0-9_]+\b/g)].map((m) => m[0]));
    expect(names.size).toBeGreaterThan(8);
    for (const name of names) expect(text, name).toMatch(new RegExp(`^(# HELP )?${name}[ {]`, 'm'));
  });

  it('links to sections that exist', () => {
    const links = [...doc.matchAll(/\]\(([^)#\s]*)#([^)\s]+)\)/g)];
    expect(links.length).toBeGreaterThan(5);
    for (const [, file = '', anchor = ''] of links) {
      const target = file === '' ? doc : readFileSync(join(dirname(DOC), file), 'utf8');
      const anchors = [...target.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] ?? ''));
      expect(anchors, `${file}#${anchor}`).toContain(anchor);
    }
  });
});
