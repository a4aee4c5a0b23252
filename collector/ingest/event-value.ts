/**
 * An event's `value` (a purchase amount, site currency). Bounded, not only finite: two values
 * near Number.MAX_VALUE sum to Infinity, which a profile's JSON stores as null — the customer's
 * total would silently drop to nothing.
 */
import { z } from 'zod';
import { LIMITS } from '../../shared/limits.ts';

export const eventValue = z
  .number()
  .finite()
  .min(-LIMITS.maxValue, `at least -${LIMITS.maxValue}`)
  .max(LIMITS.maxValue, `at most ${LIMITS.maxValue}`);

/**
 * A purchase adds to a customer's count and total, so a negative amount would count a refund as
 * one more purchase. Refunds are their own event type (e.g. `refund`), which the engine leaves alone.
 */
export function purchaseValueProblem(e: {
  type: string;
  value?: number | undefined;
}): string | undefined {
  if (e.type === 'purchase' && e.value !== undefined && e.value < 0) {
    return 'value: a purchase value is at least 0; send a refund as its own event type (e.g. "refund")';
  }
  return undefined;
}
