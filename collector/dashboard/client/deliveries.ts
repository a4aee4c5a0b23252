/** The Deliveries page's client code: placeholder of the shell, replaced on branch dash-live. */
export function initDeliveries(): void {}
