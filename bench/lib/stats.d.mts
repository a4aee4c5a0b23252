/** Types of stats.mjs for the TypeScript that shares it (bench/goals.ts). */
export interface Summary {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
export function summarize(latencies: ArrayLike<number>, seconds: number): Summary;
export function quantile(sorted: ArrayLike<number>, q: number): number;
