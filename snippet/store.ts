// localStorage throws in some privacy modes and sandboxed frames; then ids live in memory for
// this page's life instead of breaking the page.
const mem: Record<string, string> = {};

export const load = (k: string): string | undefined => {
  try {
    return localStorage.getItem(k) || mem[k];
  } catch {
    return mem[k];
  }
};

export const save = (k: string, v: string): string => {
  mem[k] = v;
  try {
    localStorage.setItem(k, v);
  } catch {}
  return v;
};
