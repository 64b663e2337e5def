#!/usr/bin/env bash
# By-hand fan-out benchmark for BENCHMARKS.md (not a test): one feed read by 1, 4 and 8 independent
# subscribers (`x2 bench e2e --subscribers N`) against x2 (`x2 up`, 2 commits, acks=all), NATS
# JetStream (file storage) and Redis Streams (appendonly, appendfsync always), all on this machine.
# Runs are interleaved (round by round, every system and subscriber count) so drift on a noisy host
# hits them alike; compare ratios against --subscribers 1 of the same round. For x2 it also records
# the sequencer's and the gateway's CPU ticks (/proc/PID/stat utime+stime) and the sequencer's
# x2_river_bytes_sent_total over each run: the sequencer's must not grow with subscribers.
# Usage: test/bench/bench-fanout.sh [results-dir]  (needs dist/x2 or X2_BIN, nats-server, redis-server, curl)
# Environment: ROUNDS (default 2), DURATION (default 8), RATE (default 5000), SUBSCRIBERS (default "1 4 8"),
#   SYSTEMS (default "x2 nats redis").
set -euo pipefail
cd "$(dirname "$0")/../.."
X2="${X2_BIN:-$PWD/dist/x2}"
OUT="${1:-$(mktemp -d /tmp/x2-fanout-XXXXXX)}"
DATA="$(mktemp -d /tmp/x2-fanout-data-XXXXXX)"
ROUNDS="${ROUNDS:-2}"
DURATION="${DURATION:-8}"
RATE="${RATE:-5000}"
SUBSCRIBERS="${SUBSCRIBERS:-1 4 8}"
SYSTEMS="${SYSTEMS:-x2 nats redis}"
mkdir -p "$OUT"
source "$PWD/test/bench/peer-servers.sh"

X2_PORT=$(free_port); NATS_PORT=$(free_port); REDIS_PORT=$(free_port)
mkdir -p "$DATA/x2" "$DATA/nats" "$DATA/redis"
"$X2" up --data "$DATA/x2" --port "$X2_PORT" --sequencer-port 0 > "$OUT/x2-up.log" 2>&1 & pids+=($!)
nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$DATA/nats" > "$OUT/nats.log" 2>&1 & pids+=($!)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DATA/redis" --save '' --appendonly yes \
  --appendfsync always > "$OUT/redis.log" 2>&1 & pids+=($!)
for port in "$NATS_PORT" "$REDIS_PORT"; do wait_port "$port"; done
for _ in $(seq 1 1200); do grep -q 'cluster serving' "$OUT/x2-up.log" && break; sleep 0.1; done
grep -q 'cluster serving' "$OUT/x2-up.log" || { echo "x2 up did not serve:"; tail -5 "$OUT/x2-up.log"; exit 1; }
SEQ_METRICS=$(grep -o 'sequencer .*metrics http[^ ]*' "$OUT/x2-up.log" | grep -o 'http[^ ]*')
SEQ_ADDR=$(awk '/^  sequencer/ {print $2}' "$OUT/x2-up.log")
SEQ_PID=$(pgrep -f "sequencer --listen $SEQ_ADDR" | head -1)
GATEWAY_PID=$(pgrep -f "gateway --sequencer $SEQ_ADDR" | head -1)
declare -A TARGET=(
  [x2]="kafka://127.0.0.1:$X2_PORT" [nats]="nats://127.0.0.1:$NATS_PORT" [redis]="redis://127.0.0.1:$REDIS_PORT"
)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
river_sent() {
  curl -s "$SEQ_METRICS" | awk -v name=x2_river_bytes_sent_total '$1 == name || index($1, name "{") == 1 {print $2}'
}

# Warm-up (JIT, pools, first segment files) on other topics, so the timed runs are steady state.
for system in $SYSTEMS; do
  "$X2" bench e2e --target "${TARGET[$system]}" --topic-prefix warm --partitions 8 --message-bytes 1KiB \
    --rate "$RATE" --duration 3 > /dev/null 2>&1 || true
done

echo "round system subscribers e2eP50ms e2eP99ms worstSubscriberP99ms lost seqTicks gatewayTicks riverBytesSent" \
  | tee "$OUT/runs.txt"
for round in $(seq 1 "$ROUNDS"); do
  for subscribers in $SUBSCRIBERS; do
    for system in $SYSTEMS; do
      name="r$round-s$subscribers"
      echo "x2 bench e2e --target ${TARGET[$system]} --topic-prefix $name --partitions 8 --message-bytes 1KiB" \
        "--rate $RATE --duration $DURATION --subscribers $subscribers --json" >> "$OUT/commands.txt"
      if [ "$system" = x2 ]; then SEQ0=$(ticks "$SEQ_PID"); GW0=$(ticks "$GATEWAY_PID"); SENT0=$(river_sent); fi
      "$X2" bench e2e --target "${TARGET[$system]}" --topic-prefix "$name" --partitions 8 --message-bytes 1KiB \
        --rate "$RATE" --duration "$DURATION" --subscribers "$subscribers" --json \
        > "$OUT/$system.$name.json" 2> "$OUT/$system.$name.log" ||
        echo "run $system.$name failed: $(tail -1 "$OUT/$system.$name.log")" >&2
      seq_ticks=- gw_ticks=- sent=-
      if [ "$system" = x2 ]; then
        seq_ticks=$(( $(ticks "$SEQ_PID") - SEQ0 )); gw_ticks=$(( $(ticks "$GATEWAY_PID") - GW0 ))
        sent=$(python3 -c "print(int(float('$(river_sent)') - float('$SENT0')))")
      fi
      python3 - "$OUT/$system.$name.json" "$round" "$system" "$subscribers" "$seq_ticks" "$gw_ticks" "$sent" \
        <<'PY' | tee -a "$OUT/runs.txt"
import json, sys
path, round_, system, subscribers, seq_ticks, gw_ticks, sent = sys.argv[1:]
try:
    r = json.load(open(path))
except (OSError, ValueError):
    print(round_, system, subscribers, 'failed'); sys.exit(0)
worst = max(s['e2eLatency']['p99Ms'] for s in r['consumed']['subscribers'])
print(round_, system, subscribers, r['e2eLatency']['p50Ms'], r['e2eLatency']['p99Ms'], worst,
      r['consumed']['lost'], seq_ticks, gw_ticks, sent)
PY
    done
  done
done

# Medians over the rounds, and each against --subscribers 1 of the same system.
python3 - "$OUT/runs.txt" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]).read().splitlines()[1:]]
rows = [r for r in rows if len(r) == 10]
def med(system, subs, col):
    values = [float(r[col]) for r in rows if r[1] == system and r[2] == subs and r[col] != '-']
    return statistics.median(values) if values else None
print('system subscribers | median e2e p50 ms, p99 ms (x of 1 subscriber) | seq ticks, river MB sent, gateway ticks')
for system in dict.fromkeys(r[1] for r in rows):
    for subs in dict.fromkeys(r[2] for r in rows if r[1] == system):
        p50, p99 = med(system, subs, 3), med(system, subs, 4)
        p50one, p99one = med(system, '1', 3), med(system, '1', 4)
        line = f'{system} {subs} | {p50:.2f} ({p50 / p50one:.2f}x), {p99:.2f} ({p99 / p99one:.2f}x)'
        if system == 'x2':
            line += (f' | {med(system, subs, 7):.0f}, {med(system, subs, 9) / 1e6:.1f},'
                     f' {med(system, subs, 8):.0f}')
        print(line)
PY
