#!/usr/bin/env bash
# Consumers at the head, fan-out (run by hand; results go to BENCHMARKS.md, "Kafka gateway: produce
# throughput and consumer fan-out"). x2 up (1 sequencer, 2 commits, 1 gateway, 8 partitions per
# topic); CONSUMERS kcat consumers each read every partition of one topic from its end while x2
# bench produce sends RATE records/s of 1 KiB to it for SECONDS (acks=all). Prints what was acked,
# the producer's ack latency, the records each consumer got, and the gateway's CPU ticks (1/100 s)
# from the timed produce's start until the consumers have all of it (or 10 s after it ended).
# Usage: test/gateway/bench-kcat-fanout.sh [consumers] [rate] [seconds]   (needs dist/x2, kcat, python3)
# Environment: X2 (the executable, default dist/x2).
set -euo pipefail
X2=${X2:-$(dirname "$0")/../../dist/x2}
CONSUMERS=${1:-8}
RATE=${2:-20000}
SECONDS_RUN=${3:-10}
for value in "$CONSUMERS" "$RATE" "$SECONDS_RUN"; do
  [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "arguments must be positive integers (got '$value')" >&2; exit 2; }
done
WORK=$(mktemp -d /tmp/x2-bench-fanout-XXXXXX)
PORT=$((30000 + RANDOM % 20000))
UP_PID=
trap 'pkill -f "kcat -C -b 127.0.0.1:$PORT" || true; if [ -n "$UP_PID" ]; then kill $UP_PID 2>/dev/null || true; fi
  wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$X2" up --data "$WORK/data" --port "$PORT" --sequencer-port 0 --partitions 8 > "$WORK/up.out" 2>&1 &
UP_PID=$!
for _ in $(seq 1 300); do grep -q 'cluster serving' "$WORK/up.out" && break; sleep 0.2; done
grep -q 'cluster serving' "$WORK/up.out" || { echo "x2 up did not serve: $(cat "$WORK/up.out")" >&2; exit 1; }
sequencer=$(awk '/^  sequencer/ {print $2}' "$WORK/up.out")
GATEWAY=$(pgrep -f "gateway --sequencer $sequencer" | head -1)
produce() {
  "$X2" bench produce --target "kafka://127.0.0.1:$PORT" --message-bytes 1KiB --partitions 8 --topic-prefix fan "$@"
}
produce --rate 20000 --duration 3 > /dev/null 2>&1 # creates fan-0 and warms the cluster up
for i in $(seq 1 "$CONSUMERS"); do
  # Each exits once it has RATE x SECONDS records (stdout is flushed at exit); kill it if not.
  kcat -C -b "127.0.0.1:$PORT" -t fan-0 -o end -c $((RATE * SECONDS_RUN)) -q -f '%p\n' -X fetch.wait.max.ms=100 \
    > "$WORK/consumer-$i" 2>/dev/null &
done
sleep 2 # every consumer has its partitions
ticks() { awk '{print $14 + $15}' "/proc/$GATEWAY/stat"; }
before=$(ticks)
produce --rate "$RATE" --duration "$SECONDS_RUN" --json > "$WORK/produce.json" 2> /dev/null
for _ in $(seq 1 50); do pgrep -f "kcat -C -b 127.0.0.1:$PORT" > /dev/null || break; sleep 0.2; done # they drain
after=$(ticks)
got=$(for i in $(seq 1 "$CONSUMERS"); do wc -l < "$WORK/consumer-$i"; done | tr '\n' ' ')
python3 - "$WORK/produce.json" "$got" $((after - before)) <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
ack = result['ackLatency']
print(f"acked {result['produced']['acked']} | ack p50 {ack['p50Ms']:.1f} ms p99 {ack['p99Ms']:.1f} ms"
      f" | consumers got {sys.argv[2].strip()} | gateway ticks {sys.argv[3]}")
PY
