#!/usr/bin/env node
/** Entry point of the built collector (`dist/collector.mjs`) and of the `microseg` bin. */
import { main } from './cli/cli.ts';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
