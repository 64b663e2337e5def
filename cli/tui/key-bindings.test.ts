/**
 * Keys of `x2 top`. Goal: every documented key does what x2-top(1) says. Method: press keys on
 * the pure state machine and check the resulting state.
 */
import { describe, expect, it } from 'vitest';
import { pressKey } from './key-bindings.ts';
import { initialUi, type UiState } from './view/screen.ts';

function press(ui: UiState, ...keys: Array<[string, Record<string, boolean>?]>): { ui: UiState; quit: boolean } {
  let outcome = { ui, quit: false };
  for (const [input, flags] of keys) outcome = pressKey(outcome.ui, input, flags ?? {});
  return outcome;
}

describe('key bindings', () => {
  it('q and Ctrl-C quit; other keys do not', () => {
    expect(press(initialUi(), ['q']).quit).toBe(true);
    expect(press(initialUi(), ['c', { ctrl: true }]).quit).toBe(true);
    expect(press(initialUi(), ['x']).quit).toBe(false);
  });

  it('tab, shift-tab and the arrows switch panes, wrapping around', () => {
    expect(press(initialUi(), ['', { tab: true }]).ui.pane).toBe('topics');
    expect(press(initialUi(), ['', { tab: true, shift: true }]).ui.pane).toBe('sidecars');
    const right: [string, Record<string, boolean>] = ['', { rightArrow: true }];
    expect(press(initialUi(), right, right, right).ui.pane).toBe('sidecars');
    expect(press(initialUi(), right, right, right, right).ui.pane).toBe('nodes');
    expect(press(initialUi(), ['', { leftArrow: true }]).ui.pane).toBe('sidecars');
  });

  it('s cycles the sort of the focused pane only; up and down scroll it', () => {
    const ui = press(initialUi(), ['s'], ['s'], ['', { downArrow: true }], ['', { downArrow: true }],
      ['', { upArrow: true }]).ui;
    expect(ui.sortIndex).toEqual({ nodes: 2, topics: 0, groups: 0, sidecars: 0 });
    expect(ui.scroll.nodes).toBe(1);
    expect(press(initialUi(), ['', { upArrow: true }]).ui.scroll.nodes).toBe(0);
  });

  it('/ types a filter: Enter keeps it, Esc clears it, q is text while typing', () => {
    const typing = press(initialUi(), ['/'], ['g'], ['q'], ['x'], ['', { backspace: true }]);
    expect(typing.quit).toBe(false);
    expect(typing.ui.filterDraft).toBe('gq');
    const kept = press(typing.ui, ['', { return: true }]).ui;
    expect(kept.filter.nodes).toBe('gq');
    expect(kept.filterDraft).toBeNull();
    expect(press(kept, ['/'], ['', { escape: true }]).ui.filter.nodes).toBe('');
  });

  it('? shows the help and any key closes it without acting', () => {
    const help = press(initialUi(), ['?']).ui;
    expect(help.help).toBe(true);
    const closed = press(help, ['q']);
    expect(closed.quit).toBe(false);
    expect(closed.ui.help).toBe(false);
  });
});
