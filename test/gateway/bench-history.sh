#!/usr/bin/env bash
# History reads (run by hand; results go to BENCHMARKS.md, "Kafka gateway: consumers reading
# history"). x2 up (1 sequencer, 2 commits, 1 gateway); x2 bench produce writes a backlog to TOPICS x
# PARTITIONS for SECONDS; x2 up is stopped and started again, so the gateway's tail cache is empty
# and every Fetch reads from a commit; x2 bench consume reads every partition from its earliest
# record. Prints records, MB/s, records lost (must be 0) and the CPU each role spent per MB read.
# Usage: test/gateway/bench-history.sh [topics] [partitions] [seconds]   (needs dist/x2, python3)
# Environment: X2 (the executable, default dist/x2), CONSUMERS (default 1).
set -euo pipefail
X2=${X2:-$(dirname "$0")/../../dist/x2}
TOPICS=${1:-1}
PARTITIONS=${2:-8}
SECONDS_RUN=${3:-5}
for value in "$TOPICS" "$PARTITIONS" "$SECONDS_RUN" "${CONSUMERS:-1}"; do
  [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "arguments must be positive integers (got '$value')" >&2; exit 2; }
done
WORK=$(mktemp -d /tmp/x2-bench-history-XXXXXX)
PORT=$((30000 + RANDOM % 20000))
UP_PID=
trap 'if [ -n "$UP_PID" ]; then kill $UP_PID 2>/dev/null || true; fi; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

start_up() {
  "$X2" up --data "$WORK/data" --port "$PORT" --sequencer-port 0 > "$WORK/up.out" 2>&1 &
  UP_PID=$!
  for _ in $(seq 1 300); do grep -q 'cluster serving' "$WORK/up.out" && return 0; sleep 0.2; done
  echo "x2 up did not serve: $(cat "$WORK/up.out")" >&2; exit 1
}
stop_up() { kill -INT "$UP_PID"; wait "$UP_PID" || true; UP_PID=; }
# CPU ticks (user + system) of x2 up's children: sequencer, commit 1, commit 2, gateway.
ticks() { for pid in $(pgrep -P "$UP_PID"); do awk '{printf "%d ", $14 + $15}' "/proc/$pid/stat"; done; }

start_up
"$X2" bench produce --target "kafka://127.0.0.1:$PORT" --topics "$TOPICS" --partitions "$PARTITIONS" \
  --producers 2 --duration "$SECONDS_RUN" > /dev/null
stop_up
start_up
BEFORE=$(ticks)
"$X2" bench consume --target "kafka://127.0.0.1:$PORT" --topics "$TOPICS" --partitions "$PARTITIONS" \
  --consumers "${CONSUMERS:-1}" --duration 300 --json > "$WORK/consume.json"
AFTER=$(ticks)
stop_up
python3 - "$WORK/consume.json" "$BEFORE" "$AFTER" "$(getconf CLK_TCK)" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
consumed = result['consumed']
megabytes = consumed['megabytesPerSecond'] * result['seconds']
before, after = ([int(t) for t in arg.split()] for arg in sys.argv[2:4])
tick_ms = 1000 / int(sys.argv[4])
per_role = [(b - a) * tick_ms / megabytes for a, b in zip(before, after)]
names = ['sequencer', 'commit 1', 'commit 2', 'gateway']
print(f"{consumed['records']:,} records, {consumed['megabytesPerSecond']:.1f} MB/s, lost {consumed['lost']}, "
      f"out of order {consumed['outOfOrder']} | CPU ms per MB: "
      + ' / '.join(f'{name} {ms:.2f}' for name, ms in zip(names, per_role)) + f' = {sum(per_role):.2f}')
PY
