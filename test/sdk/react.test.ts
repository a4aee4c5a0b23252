// @vitest-environment happy-dom
/**
 * `useMicroseg` (sdk/react.ts) rendered by react-dom in happy-dom: it follows what the snippet
 * publishes (`window.microseg.segment()`, the `microseg:segment` event), and lets go on unmount.
 */
import { act, createElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptySegment } from '../../sdk/client.ts';
import { useMicroseg } from '../../sdk/react.ts';
import { type BrowserSegment, pageFacts } from '../../shared/segment.ts';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const cameras: BrowserSegment = (() => {
  const s = { ...emptySegment('shop', 'v1'), category: 'cameras', segment: 'newbie:cameras:hot' };
  return { ...s, ...pageFacts(s) };
})();

/** How many times the component rendered, and with what. */
let renders: (string | null)[] = [];
function Hero(props: { initial?: BrowserSegment | null }) {
  const s = useMicroseg(props.initial ?? null);
  renders.push(s?.category ?? null);
  return createElement('h1', null, s?.category === 'cameras' ? 'New lenses' : 'Spring sale');
}

let root: Root;
let container: HTMLElement;
beforeEach(() => {
  renders = [];
  container = document.createElement('div');
  document.body.append(container);
  root = createRoot(container);
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
  delete (window as { microseg?: unknown }).microseg;
});

const publish = (s: BrowserSegment) =>
  act(() => {
    document.dispatchEvent(new CustomEvent('microseg:segment', { detail: s }));
  });

describe('useMicroseg', () => {
  it("renders with the snippet's segment once segment() resolves", async () => {
    let resolve: (s: BrowserSegment | null) => void = () => {};
    window.microseg = { segment: () => new Promise((r) => (resolve = r)) } as never;
    await act(async () => root.render(createElement(Hero)));
    expect(container.textContent).toBe('Spring sale');
    await act(async () => resolve(cameras));
    expect(container.textContent).toBe('New lenses');
  });

  it('follows each microseg:segment event, without the snippet API present', async () => {
    await act(async () => root.render(createElement(Hero)));
    expect(renders.at(-1)).toBeNull();
    await publish(cameras);
    expect(container.textContent).toBe('New lenses');
    await publish(emptySegment('shop', 'v1'));
    expect(container.textContent).toBe('Spring sale');
  });

  it("starts from the server's segment (hydration matches) and keeps it while the snippet knows none", async () => {
    window.microseg = { segment: () => Promise.resolve(null) } as never;
    await act(async () => root.render(createElement(Hero, { initial: cameras })));
    expect(renders[0]).toBe('cameras');
    expect(container.textContent).toBe('New lenses');
  });

  it('stops listening once unmounted', async () => {
    await act(async () => root.render(createElement(Hero)));
    act(() => root.unmount());
    const before = renders.length;
    await publish(cameras);
    expect(renders.length).toBe(before);
    root = createRoot(container);
  });
});
