#!/usr/bin/env bash
# Gateway system benchmarks (run by hand; results go to BENCHMARKS.md, section "Kafka gateway").
#  1. Produce throughput with a real Kafka client (x2 bench produce, 1 KiB records, 4 producers)
#     through x2 up (1 sequencer, 2 commits, W=2, 1 gateway), against x2 bench storage (the commit
#     store alone, 1 KiB entries, fdatasync per entry set), run before and after the cluster in each
#     round (a VM's page cache is much faster on recently used pages: the two differ by up to 1.8x).
#     For every produce run: MB/s acknowledged, ratio to the storage run before it, and at the end of
#     the round the same lines against the faster storage run; CPU seconds and ms per MB
#     of each process (sequencer, commits, gateway, the client) and river bytes sent per byte
#     appended (above 1.0 = NAK retransmits; the multicast datagram itself counts once).
#  2. Fan-out: one producer at a fixed rate with 1 and then 8 consumers at the head (kcat);
#     the sequencer's CPU time and river bytes sent per run must not grow with the consumers.
# Usage: test/gateway/bench-gateway.sh [seconds] [rounds]   (needs dist/x2, kcat, curl, python3)
# Environment: VARIANTS (default "default"): river set-ups to compare in each round, any of
#   default (what x2 up picks), mtu65000 (X2_MTU_BYTES=65000: 64 KB datagrams on loopback),
#   unicast (X2_RIVER=unicast); ACKS (default "all"): "all", "1" or "all 1"; FANOUT=0 skips part 2;
#   WARMUP (default 5): seconds of produce to other topics before each timed run.
#   OLD_STORE=1 also runs `x2 bench storage --sync bytes:1` (a plain write, then fdatasync, after
#   every write: the store's default before it wrote O_DSYNC) before and after the cluster, and
#   prints each round's ratios against the faster of those runs too.
#   TWO_STORES=1 also runs `x2 bench storage --stores 2` (two stores writing at once, each in its own
#   process, as the cluster's two commits do) before and after the cluster, and prints each round's
#   ratios against the faster of those runs' MB/s per store.
set -euo pipefail
X2=${X2:-$(dirname "$0")/../../dist/x2}
SECONDS_RUN=${1:-10}
ROUNDS=${2:-1}
VARIANTS=${VARIANTS:-default}
ACKS_LIST=${ACKS:-all}
WARMUP_SECONDS=${WARMUP:-5}
for variant in $VARIANTS; do case $variant in default|mtu65000|unicast) ;; *)
  echo "unknown variant $variant (default, mtu65000, unicast are allowed)" >&2; exit 2 ;; esac; done
WORK=$(mktemp -d /tmp/x2-bench-gateway-XXXXXX)
UP_PID=
trap 'if [ -n "$UP_PID" ]; then kill $UP_PID 2>/dev/null || true; fi; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

variant_env() {
  case $1 in
    default) echo "X2_BENCH_VARIANT=default" ;;
    mtu65000) echo "X2_MTU_BYTES=65000" ;;
    unicast) echo "X2_RIVER=unicast" ;;
  esac
}

# Starts x2 up with the variant's environment; sets UP_PID, PORT, ROLE_PIDS, SEQ_METRICS.
start_up() {
  PORT=$((30000 + RANDOM % 20000))
  env $(variant_env "$1") "$X2" up --data "$WORK/up" --port "$PORT" --sequencer-port 0 \
    > "$WORK/up.out" 2> "$WORK/up.err" &
  UP_PID=$!
  for _ in $(seq 1 1200); do grep -q 'cluster serving' "$WORK/up.out" 2>/dev/null && break; sleep 0.1; done
  if ! grep -q 'cluster serving' "$WORK/up.out"; then
    echo "x2 up ($1) did not serve within 120 s; skipping this run:"; tail -n 5 "$WORK/up.out" "$WORK/up.err"
    kill "$UP_PID" 2>/dev/null || true; wait "$UP_PID" || true; UP_PID=; rm -rf "$WORK/up"
    return 1
  fi
  SEQ_METRICS=$(grep -o 'sequencer .*metrics http[^ ]*' "$WORK/up.out" | grep -o 'http[^ ]*')
  local seq_addr
  seq_addr=$(awk '/^  sequencer/ {print $2}' "$WORK/up.out")
  # Sequencer, commits, gateway: the children of x2 up, in the order it starts them.
  ROLE_PIDS="$(pgrep -f "sequencer --listen $seq_addr" | head -1)"
  ROLE_PIDS="$ROLE_PIDS $(pgrep -f "commit --sequencer $seq_addr" | tr '\n' ' ')"
  ROLE_PIDS="$ROLE_PIDS $(pgrep -f "gateway --sequencer $seq_addr" | head -1)"
}

stop_up() {
  kill "$UP_PID"; wait "$UP_PID" || true; UP_PID=
  rm -rf "$WORK/up"
}

cpu_ticks() { for pid in $ROLE_PIDS; do awk '{printf "%d ", $14 + $15}' "/proc/$pid/stat"; done; }
seq_metric() {
  { curl -s "$SEQ_METRICS" || true; } | awk -v name="$1" '$1 == name || index($1, name "{") == 1 {print $2}'
}

storage_run() {
  "$X2" bench storage --data "$WORK/storage" --entry-bytes 1KiB --duration "$SECONDS_RUN" --json > "$WORK/storage-$1.json"
  rm -rf "$WORK/storage"
  if [ "${OLD_STORE:-0}" = 1 ]; then
    "$X2" bench storage --data "$WORK/storage" --entry-bytes 1KiB --duration "$SECONDS_RUN" --sync bytes:1 --json \
      > "$WORK/storage-old-$1.json"
    rm -rf "$WORK/storage"
  fi
  if [ "${TWO_STORES:-0}" = 1 ]; then
    "$X2" bench storage --data "$WORK/storage" --entry-bytes 1KiB --duration "$SECONDS_RUN" --stores 2 --json \
      > "$WORK/storage-two-$1.json"
    rm -rf "$WORK/storage"
  fi
}

echo "round variant acks load1m storageMBps produceMBps ratio ackP50ms | CPU s (ms/MB): sequencer commit1 commit2" \
  "gateway client total | river sent/appended"
for round in $(seq 1 "$ROUNDS"); do
  # The store runs twice, before and after the cluster runs: on a VM the page cache's speed depends on
  # whether its pages were used recently (see BENCHMARKS.md), and the ratio is taken against the faster.
  storage_run before
  for variant in $VARIANTS; do
    for acks in $ACKS_LIST; do
      start_up "$variant" || continue
      # Warm-up on other topics first (JIT, pools, first segment files): the timed run is steady state.
      "$X2" bench produce --target "kafka://127.0.0.1:$PORT" --message-bytes 1KiB --acks "$acks" --producers 4 \
        --duration "$WARMUP_SECONDS" --topic-prefix warm > /dev/null 2>&1 || true
      LOAD=$(cut -d' ' -f1 /proc/loadavg)
      TICKS0=$(cpu_ticks); SENT0=$(seq_metric x2_river_bytes_sent_total)
      APPENDED0=$(seq_metric x2_river_bytes_appended_total)
      /usr/bin/time -o "$WORK/client.time" -f '%U %S' "$X2" bench produce --target "kafka://127.0.0.1:$PORT" \
        --message-bytes 1KiB --acks "$acks" --producers 4 --duration "$SECONDS_RUN" --topic-prefix thr --json \
        > "$WORK/produce.json" 2> "$WORK/produce.err" \
        || echo "x2 bench produce exited $?: $(tail -c 300 "$WORK/produce.err")"
      TICKS1=$(cpu_ticks); SENT1=$(seq_metric x2_river_bytes_sent_total)
      APPENDED1=$(seq_metric x2_river_bytes_appended_total)
      stop_up
      python3 - "$round" "$variant" "$acks" "$LOAD" "$TICKS0" "$TICKS1" "$(tail -n 1 "$WORK/client.time")" \
        "$SENT0" "$SENT1" "$APPENDED0" "$APPENDED1" "$WORK" <<'PY' | tee -a "$WORK/produce-lines"
import json, sys
(round_, variant, acks, load, ticks0, ticks1, client, sent0, sent1, appended0, appended1, work) = sys.argv[1:]
storage = json.load(open(f'{work}/storage-before.json'))
produce = json.load(open(f'{work}/produce.json'))
megabytes = produce['produced']['acked'] * 1024 / 1e6
cpu = [(int(b) - int(a)) / 100 for a, b in zip(ticks0.split(), ticks1.split())]
cpu.append(sum(float(x) for x in client.split()))
cpu.append(sum(cpu))
per_mb = ' '.join(f'{s:.2f} ({s / megabytes * 1000:.1f})' for s in cpu)
sent_ratio = (float(sent1) - float(sent0)) / max(1.0, float(appended1) - float(appended0))
print(f"{round_} {variant} {acks} {load} {storage['megabytesPerSecond']:.1f} "
      f"{produce['produced']['megabytesPerSecond']:.1f} "
      f"{produce['produced']['megabytesPerSecond'] / storage['megabytesPerSecond']:.2f} "
      f"{produce['ackLatency']['p50Ms']:.0f} | {per_mb} | {sent_ratio:.2f}")
PY
    done
  done
  storage_run after
  python3 - "$round" "$WORK" <<'PY'
import json, sys
round_, work = sys.argv[1:]
before, after = (json.load(open(f'{work}/storage-{when}.json'))['megabytesPerSecond'] for when in ('before', 'after'))
print(f"{round_} storage before {before:.1f} MB/s, after {after:.1f} MB/s; the same runs against the faster:")
for line in open(f'{work}/produce-lines'):
    fields = line.split()
    produce = float(fields[5])
    fields[4] = f'{max(before, after):.1f}'
    fields[6] = f'{produce / max(before, after):.2f}'
    print(' '.join(fields))
try:
    old = max(json.load(open(f'{work}/storage-old-{when}.json'))['megabytesPerSecond'] for when in ('before', 'after'))
except FileNotFoundError:
    old = None
if old is not None:
    print(f"{round_} old store (--sync bytes:1) {old:.1f} MB/s; the produce runs against it: " + ', '.join(
        f"{float(line.split()[5]) / old:.2f}" for line in open(f'{work}/produce-lines')))
try:
    two = max(json.load(open(f'{work}/storage-two-{when}.json'))['megabytesPerSecondPerStore']
              for when in ('before', 'after'))
except FileNotFoundError:
    two = None
if two is not None:
    print(f"{round_} two stores at once (--stores 2) {two:.1f} MB/s per store; the produce runs against it: " +
          ', '.join(f"{float(line.split()[5]) / two:.2f}" for line in open(f'{work}/produce-lines')))
PY
  rm -f "$WORK/produce-lines"
done

[ "${FANOUT:-1}" = 0 ] && exit 0
start_up default || exit 1
SEQ_PID=${ROLE_PIDS%% *}
bytes_sent() { seq_metric x2_river_bytes_sent_total; }
for consumers in 1 8; do
  TOPIC="fan$consumers"
  "$X2" bench produce --target "kafka://127.0.0.1:$PORT" --message-bytes 1KiB --acks all --rate 2000 --duration 1 \
    --topic-prefix "$TOPIC" > /dev/null
  PIDS=()
  for _ in $(seq 1 "$consumers"); do
    kcat -b "127.0.0.1:$PORT" -C -t "$TOPIC-0" -o end -q > /dev/null 2>&1 &
    PIDS+=($!)
  done
  sleep 2
  TICKS0=$(awk '{print $14 + $15}' "/proc/$SEQ_PID/stat"); BYTES0=$(bytes_sent)
  "$X2" bench produce --target "kafka://127.0.0.1:$PORT" --message-bytes 1KiB --acks all --rate 5000 \
    --duration "$SECONDS_RUN" --topic-prefix "$TOPIC" --json > "$WORK/fan$consumers.json"
  TICKS1=$(awk '{print $14 + $15}' "/proc/$SEQ_PID/stat"); BYTES1=$(bytes_sent)
  kill "${PIDS[@]}"
  echo "== fan-out, $consumers consumer(s): sequencer cpu ticks $((TICKS1 - TICKS0)), river bytes sent" \
    "$(echo "$BYTES1 - $BYTES0" | bc)"
  cat "$WORK/fan$consumers.json"; echo
done
stop_up
