/** The Live page's client code: placeholder of the shell, replaced on branch dash-live. */
export function initLive(): void {}
