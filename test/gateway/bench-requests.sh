#!/usr/bin/env bash
# What a produce request costs (run by hand; results go to BENCHMARKS.md, "Kafka gateway: produce
# requests"). x2 up (1 sequencer, 2 commits, W=2, 1 gateway), then `x2 bench produce` of 100-byte
# records at a fixed rate with acks=all, one record per request at these rates; prints the
# produce-ack latency (p50, p99) and the CPU time per record of each role and of the client,
# from /proc/PID/stat before and after the run (3 s of warm-up on another topic first).
# Usage: test/gateway/bench-requests.sh [records/s] [seconds]   (needs dist/x2, python3)
set -euo pipefail
X2=${X2:-$(dirname "$0")/../../dist/x2}
RATE=${1:-5000}
SECONDS_RUN=${2:-10}
WORK=$(mktemp -d /tmp/x2-bench-requests-XXXXXX)
UP_PID=
trap 'if [ -n "$UP_PID" ]; then kill $UP_PID 2>/dev/null || true; fi; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$((30000 + RANDOM % 20000))
"$X2" up --data "$WORK/up" --port "$PORT" --sequencer-port 0 > "$WORK/up.out" 2> "$WORK/up.err" &
UP_PID=$!
for _ in $(seq 1 1200); do grep -q 'cluster serving' "$WORK/up.out" 2>/dev/null && break; sleep 0.1; done
grep -q 'cluster serving' "$WORK/up.out" || { echo "x2 up did not serve within 120 s"; tail -n 5 "$WORK/up.err"; exit 1; }
seq_addr=$(awk '/^  sequencer/ {print $2}' "$WORK/up.out")
ROLE_PIDS="$(pgrep -f "sequencer --listen $seq_addr" | head -1)"
ROLE_PIDS="$ROLE_PIDS $(pgrep -f "commit --sequencer $seq_addr" | tr '\n' ' ')"
ROLE_PIDS="$ROLE_PIDS $(pgrep -f "gateway --sequencer $seq_addr" | head -1)"
cpu_ticks() { for pid in $ROLE_PIDS; do awk '{printf "%d ", $14 + $15}' "/proc/$pid/stat"; done; }
"$X2" bench produce --target "kafka://127.0.0.1:$PORT" --message-bytes 100 --acks all --rate "$RATE" --duration 3 \
  --topic-prefix warm > /dev/null 2>&1
TICKS0=$(cpu_ticks)
/usr/bin/time -o "$WORK/client.time" -f '%U %S' "$X2" bench produce --target "kafka://127.0.0.1:$PORT" \
  --message-bytes 100 --acks all --rate "$RATE" --duration "$SECONDS_RUN" --topic-prefix timed --json > "$WORK/produce.json" 2> "$WORK/produce.err"
TICKS1=$(cpu_ticks)
python3 - "$RATE" "$TICKS0" "$TICKS1" "$(tail -n 1 "$WORK/client.time")" "$WORK/produce.json" <<'PY'
import json, sys
rate, ticks0, ticks1, client, path = sys.argv[1:]
result = json.load(open(path))
records = result['produced']['acked']
ticks_ms = 1000 / 100  # /proc/PID/stat counts 1/100 s
cpu = [(int(b) - int(a)) * ticks_ms for a, b in zip(ticks0.split(), ticks1.split())]
cpu.append(sum(float(x) for x in client.split()) * 1000)
per_record = ' '.join(f'{ms * 1000 / records:.0f}' for ms in cpu)
print(f"rate {rate}/s: {records} records acked, p50 {result['ackLatency']['p50Ms']:.2f} ms, "
      f"p99 {result['ackLatency']['p99Ms']:.2f} ms | CPU us per record: sequencer commit1 commit2 gateway client "
      f"{per_record} | cluster {sum(cpu[:-1]) * 1000 / records:.0f}")
PY
