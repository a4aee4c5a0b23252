/**
 * A table of figures as every dashboard page shows one: in a scroll region the keyboard can reach
 * (narrow screens scroll it; axe's scrollable-region-focusable), with a caption naming it and
 * column headers, so a chart's figures are readable without the chart.
 */
import type { Child } from 'hono/jsx';

export interface Column {
  label: Child;
  /** Right-aligned figures. */
  num?: boolean;
  /** Dropped on phone widths (client/style.css). */
  wideOnly?: boolean;
}

export function FigureTable(props: {
  /** The table's id; the caption's is `${id}-cap`. */
  id: string;
  caption: Child;
  cols: Array<Child | Column>;
  class?: string;
  children?: Child;
}) {
  const cap = `${props.id}-cap`;
  return (
    <section class="table-wrap" tabindex={0} aria-labelledby={cap}>
      <table id={props.id} class={props.class}>
        <caption id={cap}>{props.caption}</caption>
        <thead>
          <tr>
            {props.cols.map((col) => {
              const c = isColumn(col) ? col : { label: col };
              const cls = [c.num && 'num', c.wideOnly && 'wide-only'].filter(Boolean).join(' ');
              return (
                <th scope="col" class={cls || undefined}>
                  {c.label}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </section>
  );
}

const isColumn = (c: Child | Column): c is Column =>
  typeof c === 'object' && c !== null && !Array.isArray(c) && 'label' in c;
