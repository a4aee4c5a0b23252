/**
 * What a chart element carries to the client (`data-chart`, JSON): built on the server from the
 * same answer the page's tables show, drawn by client/charts.ts with uPlot.
 */
export interface ChartSpec {
  /** `line`: series over time; `bars`: one bar per x; `spark`: a bare line in a table cell. */
  kind: 'line' | 'bars' | 'spark';
  /** x values: epoch seconds when `time` is not false. */
  x: number[];
  series: { label: string; values: (number | null)[] }[];
  /** false: x is an index, not a time. */
  time?: boolean;
}

/** The attribute value of a chart (Hono escapes attributes, so any JSON is safe here). */
export const chartData = (spec: ChartSpec): string => JSON.stringify(spec);
