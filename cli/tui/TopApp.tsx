/**
 * The `x2 top` app: polls a snapshot source (core/metrics/snapshot-feed.ts, or a fake in tests),
 * keeps the cluster model, redraws on every batch and every second, and maps keys through
 * key-bindings.ts. When the source fails it shows the problem and retries every second.
 *
 * Raw mode: Ink's useInput throws on a non-TTY stdin, so keys are read only when raw mode is
 * supported (`isRawModeSupported === true`); without a TTY the screen still updates and the
 * process stops on SIGINT/SIGTERM.
 */
import { useEffect, useRef, useState } from 'react';
import { useApp, useInput, useStdin, useStdout } from 'ink';
import type { NodeSnapshot } from '../../core/metrics/snapshot.ts';
import type { FeedState } from '../../core/metrics/snapshot-feed.ts';
import { pressKey } from './key-bindings.ts';
import { Screen } from './Screen.tsx';
import { addSnapshots, clusterView, emptyModel, type ClusterModel } from './view/cluster-model.ts';
import { initialUi, renderScreen, type UiState } from './view/screen.ts';

export type SnapshotSource = {
  poll(maxWaitMs: number): Promise<NodeSnapshot[]>;
  readonly state: FeedState;
  close(): void;
};

export type TopAppProps = {
  source: SnapshotSource;
  /** Fixed size (tests); default: the terminal's, following resizes. */
  columns?: number;
  rows?: number;
  pollWaitMs?: number;
  retryMs?: number;
  clock?: () => number;
};

function clockText(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(11, 19);
}

export function TopApp(props: TopAppProps): React.JSX.Element {
  const { source, pollWaitMs = 1000, retryMs = 1000, clock = Date.now } = props;
  const { exit } = useApp();
  const { stdout } = useStdout();
  const { isRawModeSupported } = useStdin();
  const [model, setModel] = useState<ClusterModel>(emptyModel);
  const [ui, setUi] = useState<UiState>(initialUi);
  const [feedState, setFeedState] = useState<FeedState>(source.state);
  const [nowMs, setNowMs] = useState(clock());
  const [size, setSize] = useState({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const uiRef = useRef(ui);
  uiRef.current = ui;

  useEffect(() => {
    let running = true;
    const loop = async (): Promise<void> => {
      while (running) {
        try {
          const snapshots = await source.poll(pollWaitMs);
          if (!running) return;
          if (snapshots.length > 0) setModel((previous) => addSnapshots(previous, snapshots, clock()));
        } catch {
          if (!running) return;
          await new Promise((resolve) => setTimeout(resolve, retryMs));
        }
        setFeedState(source.state);
      }
    };
    void loop();
    const ticker = setInterval(() => setNowMs(clock()), 1000);
    return () => {
      running = false;
      clearInterval(ticker);
      source.close();
    };
  }, [source]);

  useEffect(() => {
    const onResize = (): void => setSize({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', onResize);
    return () => { stdout.off('resize', onResize); };
  }, [stdout]);

  useInput((input, key) => {
    const outcome = pressKey(uiRef.current, input, key);
    if (outcome.quit) {
      exit();
      return;
    }
    uiRef.current = outcome.ui;
    setUi(outcome.ui);
  }, { isActive: isRawModeSupported === true });

  const columns = props.columns ?? size.columns;
  // One row short of the terminal: a full-height frame makes Ink clear the screen on every redraw.
  const rows = props.rows ?? Math.max(10, size.rows - 1);
  const connection = { ...feedState, clock: clockText(nowMs) };
  return <Screen lines={renderScreen(clusterView(model, nowMs), ui, connection, columns, rows)} />;
}
