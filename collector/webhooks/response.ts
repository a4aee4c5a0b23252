/**
 * A receiver's answer, read no further than a few KiB. Its body is the receiver's to choose, and
 * one that answers a gigabyte must cost the collector a few KiB, not a gigabyte: the rest is
 * cancelled (the connection is closed rather than drained for reuse).
 */

/** Bytes of a receiver's answer read at most. */
export const RESPONSE_READ_BYTES = 4096;
/** Characters of a failed answer's body kept with the attempt's error (the outbox keeps 500). */
export const RESPONSE_EXCERPT_CHARS = 200;

/** The body's first `max` bytes (about) as text; the rest is cancelled unread. */
export async function readCapped(res: Response, max = RESPONSE_READ_BYTES): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    // After the end this does nothing; before it, it stops the transfer.
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** A short, single-line excerpt of a failed answer, for the delivery's diagnostics. */
export function excerpt(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .trim()
      .slice(0, RESPONSE_EXCERPT_CHARS)
  );
}
