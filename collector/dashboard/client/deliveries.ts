/** The Deliveries page needs no client code: its Replay buttons are plain forms (POST + CSRF field). */
export function initDeliveries(): void {}
