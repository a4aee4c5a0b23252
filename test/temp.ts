/**
 * Temporary folders and the test clock, for tests of storage alone: test/helpers.ts re-exports
 * them beside the HTTP app, which storage tests do not need.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
export const DAY = 86_400_000;

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'microseg-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
