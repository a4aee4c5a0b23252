/** Reads a SQLite WAL file's header, for tests of when the WAL starts again from its beginning. */
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * The WAL header's salt-1 (bytes 16–19): SQLite adds one to it each time the WAL starts again from
 * its beginning (a restart), so the number of values seen counts restarts. Null with no WAL yet.
 */
export function walSalt(file: string): number | null {
  let fd: number;
  try {
    fd = openSync(`${file}-wal`, 'r');
  } catch {
    return null;
  }
  try {
    const header = Buffer.alloc(32);
    return readSync(fd, header, 0, 32, 0) === 32 ? header.readUInt32BE(16) : null;
  } finally {
    closeSync(fd);
  }
}
