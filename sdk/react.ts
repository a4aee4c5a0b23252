/**
 * `microseg/react`: `useMicroseg()`, the segment the snippet publishes on the page (docs/snippet.md:
 * `window.microseg.segment()` and the `microseg:segment` event), re-rendering when it changes.
 * docs/server.md.
 */
import { useEffect, useState } from 'react';
import type { BrowserSegment } from '../shared/segment.ts';

export type { BrowserSegment, Segment } from '../shared/segment.ts';

/** The part of the snippet's `window.microseg` the hook calls (the pre-load stub has it too). */
interface SnippetApi {
  segment(): Promise<BrowserSegment | null>;
}

/**
 * The visitor's segment: `initial` (e.g. what the server rendered with, so hydration matches) until
 * the snippet knows one, then the snippet's, updated on each change. Null while nothing is known.
 */
export function useMicroseg(initial: BrowserSegment | null = null): BrowserSegment | null {
  const [segment, setSegment] = useState(initial);
  useEffect(() => {
    let live = true;
    const onChange = (e: Event) => setSegment((e as CustomEvent<BrowserSegment>).detail);
    document.addEventListener('microseg:segment', onChange);
    // The stub queues the call until ms.js has loaded; without the snippet, only events count.
    const api = (window as { microseg?: SnippetApi }).microseg;
    api?.segment().then(
      (s) => {
        if (live && s) setSegment(s);
      },
      () => {},
    );
    return () => {
      live = false;
      document.removeEventListener('microseg:segment', onChange);
    };
  }, []);
  return segment;
}
