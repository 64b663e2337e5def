/**
 * A text table that fits a width: columns are kept in priority order while they fit, the first
 * column takes whatever width is left (at least its minimum). Pure, no Ink: `x2 top` renders the
 * resulting lines, and `--once` prints them.
 */
import { fit } from './format.ts';

export type Column<Row> = {
  title: string;
  width: number;
  align: 'left' | 'right';
  /** Lower is kept first when the width is short; the first column is always kept. */
  priority: number;
  value: (row: Row) => string;
  /** Characters at the end of the value kept when it is cut (the rest is cut before them); default 0. */
  keepEnd?: (row: Row) => number;
};

/** The columns that fit `width` (one space between columns), in their declared order. */
export function fitColumns<Row>(columns: readonly Column<Row>[], width: number): Column<Row>[] {
  const [first, ...rest] = columns;
  if (first === undefined) return [];
  const kept = new Set<Column<Row>>([first]);
  let used = first.width;
  for (const column of [...rest].sort((a, b) => a.priority - b.priority)) {
    if (used + 1 + column.width > width) continue;
    kept.add(column);
    used += 1 + column.width;
  }
  const chosen = columns.filter((column) => kept.has(column));
  const extra = Math.max(0, width - used);
  return chosen.map((column, index) => (index === 0 ? { ...column, width: column.width + extra } : column));
}

export function headerLine<Row>(columns: readonly Column<Row>[]): string {
  return columns.map((column) => fit(column.title, column.width, column.align)).join(' ');
}

export function rowLine<Row>(columns: readonly Column<Row>[], row: Row): string {
  return columns.map((column) => fit(column.value(row), column.width, column.align, column.keepEnd?.(row) ?? 0))
    .join(' ');
}
