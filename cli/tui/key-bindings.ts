/**
 * Every key of `x2 top`, in one place: what a key press does to the screen state. Pure (no Ink
 * import): the app passes Ink's key flags, the tests pass the same flags by hand.
 */
import { PANES, SORTS, type Pane, type UiState } from './view/screen.ts';

/** The subset of Ink's `Key` that x2 top reads. */
export type KeyFlags = {
  upArrow?: boolean; downArrow?: boolean; leftArrow?: boolean; rightArrow?: boolean; tab?: boolean;
  shift?: boolean; return?: boolean; escape?: boolean; ctrl?: boolean; backspace?: boolean; delete?: boolean;
};

export type KeyOutcome = { ui: UiState; quit: boolean };

const FILTER_CHARS_MAX = 64;

function paneAfter(pane: Pane, step: number): Pane {
  const index = PANES.indexOf(pane);
  return PANES[(index + step + PANES.length) % PANES.length]!;
}

/** The state after one key press. */
export function pressKey(ui: UiState, input: string, key: KeyFlags): KeyOutcome {
  if (key.ctrl === true && input === 'c') return { ui, quit: true };
  if (ui.help) return { ui: { ...ui, help: false }, quit: false };
  if (ui.filterDraft !== null) {
    if (key.return === true) {
      return { ui: { ...ui, filter: { ...ui.filter, [ui.pane]: ui.filterDraft }, filterDraft: null }, quit: false };
    }
    if (key.escape === true) {
      return { ui: { ...ui, filter: { ...ui.filter, [ui.pane]: '' }, filterDraft: null }, quit: false };
    }
    if (key.backspace === true || key.delete === true) {
      return { ui: { ...ui, filterDraft: ui.filterDraft.slice(0, -1) }, quit: false };
    }
    if (input.length > 0 && key.ctrl !== true && ui.filterDraft.length < FILTER_CHARS_MAX) {
      return { ui: { ...ui, filterDraft: ui.filterDraft + input }, quit: false };
    }
    return { ui, quit: false };
  }
  if (input === 'q') return { ui, quit: true };
  if (key.tab === true) return { ui: { ...ui, pane: paneAfter(ui.pane, key.shift === true ? -1 : 1) }, quit: false };
  if (key.rightArrow === true) return { ui: { ...ui, pane: paneAfter(ui.pane, 1) }, quit: false };
  if (key.leftArrow === true) return { ui: { ...ui, pane: paneAfter(ui.pane, -1) }, quit: false };
  if (key.downArrow === true || key.upArrow === true) {
    const scroll = Math.max(0, ui.scroll[ui.pane] + (key.downArrow === true ? 1 : -1));
    return { ui: { ...ui, scroll: { ...ui.scroll, [ui.pane]: scroll } }, quit: false };
  }
  if (input === 's') {
    const next = (ui.sortIndex[ui.pane] + 1) % SORTS[ui.pane].length;
    return { ui: { ...ui, sortIndex: { ...ui.sortIndex, [ui.pane]: next } }, quit: false };
  }
  if (input === '/') return { ui: { ...ui, filterDraft: ui.filter[ui.pane] }, quit: false };
  if (input === '?') return { ui: { ...ui, help: true }, quit: false };
  return { ui, quit: false };
}
