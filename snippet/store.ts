// localStorage throws on access in some privacy modes and sandboxed frames, and on writes when
// full: then a plain object keeps ids for this page's life instead of breaking the page.
let store: Record<string, string> = {};
try {
  store = localStorage;
} catch {}

export const load = (k: string): string | undefined => store[k];

export const save = (k: string, v: string): string => {
  try {
    store[k] = v;
  } catch {
    (store = {} as Record<string, string>)[k] = v;
  }
  return v;
};
