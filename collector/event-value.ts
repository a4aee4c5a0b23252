/**
 * An event's `value` (a purchase amount, site currency). Bounded, not only finite: two values
 * near Number.MAX_VALUE sum to Infinity, which a profile's JSON stores as null — the customer's
 * total would silently drop to nothing.
 */
import { z } from 'zod';
import { LIMITS } from '../shared/limits.ts';

export const eventValue = z
  .number()
  .finite()
  .min(-LIMITS.maxValue, `at least -${LIMITS.maxValue}`)
  .max(LIMITS.maxValue, `at most ${LIMITS.maxValue}`);
