#!/usr/bin/env bash
# Gateway system benchmarks (run by hand; results go to BENCHMARKS.md, section "Kafka gateway").
#  1. Produce throughput with a real Kafka client (x2 bench produce, acks=all, 1 KiB records)
#     through x2 up (1 sequencer, 2 commits, W=2), against x2 bench storage (the commit store
#     alone, 1 KiB entries, fdatasync per entry set) in the same run.
#  2. Fan-out: one producer at a fixed rate with 1 and then 8 consumers at the head (kcat);
#     the sequencer's CPU time and river bytes sent per run must not grow with the consumers.
# Usage: test/gateway/bench-gateway.sh [seconds]   (needs dist/x2 and kcat)
set -euo pipefail
X2=${X2:-$(dirname "$0")/../../dist/x2}
SECONDS_RUN=${1:-10}
WORK=$(mktemp -d /tmp/x2-bench-gateway-XXXXXX)
PORT=$((30000 + RANDOM % 20000))
trap 'kill $UP_PID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "== x2 bench storage (1 KiB entries, ${SECONDS_RUN}s)"
"$X2" bench storage --data "$WORK/storage" --entry-bytes 1KiB --duration "$SECONDS_RUN" --json > "$WORK/storage.json"
cat "$WORK/storage.json"; echo

"$X2" up --data "$WORK/up" --port "$PORT" --sequencer-port 0 > "$WORK/up.out" 2> "$WORK/up.err" &
UP_PID=$!
for _ in $(seq 1 1200); do grep -q 'cluster serving' "$WORK/up.out" 2>/dev/null && break; sleep 0.1; done
grep -q 'cluster serving' "$WORK/up.out" || { echo "x2 up did not serve:"; cat "$WORK/up.err"; exit 1; }
cat "$WORK/up.out"
SEQ_METRICS=$(grep -o 'sequencer .*metrics http[^ ]*' "$WORK/up.out" | grep -o 'http[^ ]*')
SEQ_ADDR=$(awk '/^  sequencer/ {print $2}' "$WORK/up.out")
SEQ_PID=$(pgrep -f "sequencer --listen $SEQ_ADDR" | head -1)

echo "== x2 bench produce through the gateway (acks=all, 1 KiB, 4 producers, ${SECONDS_RUN}s)"
"$X2" bench produce --target "kafka://127.0.0.1:$PORT" --message-bytes 1KiB --acks all --producers 4 \
  --duration "$SECONDS_RUN" --topic-prefix thr --json > "$WORK/produce.json"
cat "$WORK/produce.json"; echo

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
bytes_sent() { curl -s "$SEQ_METRICS" | awk '/^x2_river_bytes_sent_total/ {print $2}'; }
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
  TICKS0=$(cpu_ticks "$SEQ_PID"); BYTES0=$(bytes_sent)
  "$X2" bench produce --target "kafka://127.0.0.1:$PORT" --message-bytes 1KiB --acks all --rate 5000 \
    --duration "$SECONDS_RUN" --topic-prefix "$TOPIC" --json > "$WORK/fan$consumers.json"
  TICKS1=$(cpu_ticks "$SEQ_PID"); BYTES1=$(bytes_sent)
  kill "${PIDS[@]}"
  echo "== fan-out, $consumers consumer(s): sequencer cpu ticks $((TICKS1 - TICKS0)), river bytes sent $(echo "$BYTES1 - $BYTES0" | bc)"
  cat "$WORK/fan$consumers.json"; echo
done
