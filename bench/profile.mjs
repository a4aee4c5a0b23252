#!/usr/bin/env node
/** Summarizes a `.cpuprofile`: `node bench/profile.mjs FILE [--top N]` (see bench/lib/cpuprofile.mjs). */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatProfile, summarizeProfile } from './lib/cpuprofile.mjs';

const { values, positionals } = parseArgs({
  options: { top: { type: 'string' } },
  allowPositionals: true,
});
if (positionals.length === 0) {
  console.error('usage: node bench/profile.mjs FILE.cpuprofile [--top N]');
  process.exit(2);
}
const top = Number(values.top ?? 25);
for (const file of positionals) {
  console.log(
    `${file}\n${formatProfile(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), top), top)}\n`,
  );
}
