/**
 * Colours of `x2 top`, by line style (cli/tui/view/screen.ts). The only place colours are
 * chosen; NO_COLOR is honoured by Ink's colour library.
 */
import type { LineStyle } from './view/screen.ts';

export type TextStyle = { color?: string; bold?: boolean; dimColor?: boolean; inverse?: boolean };

export const THEME: Record<LineStyle, TextStyle> = {
  title: { bold: true },
  summary: { color: 'cyan' },
  paneTitle: { dimColor: true },
  paneTitleFocused: { bold: true, color: 'green' },
  header: { bold: true },
  row: {},
  stale: { dimColor: true },
  warn: { color: 'red', bold: true },
  keys: { inverse: true },
  help: {},
};
