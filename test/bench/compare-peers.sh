#!/usr/bin/env bash
# By-hand comparison run for BENCHMARKS.md (not a test): x2 (`x2 up`, 2 commits, acks=all)
# against NATS JetStream (file storage) and Redis Streams (appendonly; appendfsync always and
# everysec), all on this machine, one after the other, with the same `x2 bench` workloads; and
# x2 bench's own Kafka client against kafkajs on the same x2 cluster.
# Usage: test/bench/compare-peers.sh [results-dir]  (needs dist/x2 or X2_BIN, nats-server, redis-server)
# Writes one JSON file per run into results-dir and prints the table rows (compare-table.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
X2="${X2_BIN:-$PWD/dist/x2}"
OUT="${1:-$(mktemp -d /tmp/x2-compare-XXXXXX)}"
DATA="$(mktemp -d /tmp/x2-compare-data-XXXXXX)"
DURATION="${DURATION:-10}"
mkdir -p "$OUT"
source "$PWD/test/bench/peer-servers.sh"

# 10,000 topics need more than the default 1024 descriptors in NATS (a directory and files per stream).
ulimit -n "$(ulimit -Hn)"
X2_PORT=$(free_port); NATS_PORT=$(free_port); RA_PORT=$(free_port); RE_PORT=$(free_port)
mkdir -p "$DATA/x2" "$DATA/nats" "$DATA/redis-always" "$DATA/redis-everysec"
"$X2" up --data "$DATA/x2" --port "$X2_PORT" --sequencer-port 0 > "$OUT/x2-up.log" 2>&1 & pids+=($!)
nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$DATA/nats" > "$OUT/nats.log" 2>&1 & pids+=($!)
redis-server --port "$RA_PORT" --bind 127.0.0.1 --dir "$DATA/redis-always" --save '' --appendonly yes \
  --appendfsync always > "$OUT/redis-always.log" 2>&1 & pids+=($!)
redis-server --port "$RE_PORT" --bind 127.0.0.1 --dir "$DATA/redis-everysec" --save '' --appendonly yes \
  --appendfsync everysec > "$OUT/redis-everysec.log" 2>&1 & pids+=($!)
for port in "$NATS_PORT" "$RA_PORT" "$RE_PORT"; do wait_port "$port"; done
for _ in $(seq 1 900); do grep -q 'cluster serving' "$OUT/x2-up.log" && break; sleep 0.1; done

declare -A TARGET=(
  [x2]="kafka://127.0.0.1:$X2_PORT" [nats]="nats://127.0.0.1:$NATS_PORT"
  [redis-always]="redis://127.0.0.1:$RA_PORT" [redis-everysec]="redis://127.0.0.1:$RE_PORT"
)
run() { # name system args...
  local name="$1" system="$2"; shift 2
  echo "x2 bench $* --target ${TARGET[$system]} --json" >> "$OUT/commands.txt"
  "$X2" bench "$@" --target "${TARGET[$system]}" --json > "$OUT/$system.$name.json" 2> "$OUT/$system.$name.log" ||
    echo "run $system.$name failed: $(tail -1 "$OUT/$system.$name.log")" >&2
}

for system in x2 nats redis-always redis-everysec; do
  run max-100b "$system" produce --topic-prefix max100 --partitions 8 --message-bytes 100 --duration "$DURATION"
  run max-1k "$system" produce --topic-prefix max1k --partitions 8 --message-bytes 1KiB --duration "$DURATION"
  half=$(node -e "const r=require('$OUT/$system.max-1k.json');
    console.log(Math.max(1, Math.floor(r.produced.recordsPerSecond / 2)))")
  run e2e-half "$system" e2e --topic-prefix e2e --partitions 8 --consumers 8 --message-bytes 1KiB --rate "$half" \
    --duration "$DURATION"
  run topics-1 "$system" produce --topic-prefix one --topics 1 --message-bytes 100 --duration "$DURATION"
  run topics-10k "$system" produce --topic-prefix many --topics 10000 --message-bytes 100 --duration "$DURATION"
done

# Client comparison against the same x2 cluster: kafkajs, then x2 bench, same topic shape.
"$X2" bench produce --target "${TARGET[x2]}" --topic-prefix kjs --partitions 8 --duration 0.5 --rate 100 > /dev/null
echo "tsx test/bench/kafkajs-producer.ts --bootstrap 127.0.0.1:$X2_PORT --topic kjs-0 --partitions 8" \
  "--message-bytes 100 --duration $DURATION" >> "$OUT/commands.txt"
tsx test/bench/kafkajs-producer.ts --bootstrap "127.0.0.1:$X2_PORT" --topic kjs-0 --partitions 8 \
  --message-bytes 100 --duration "$DURATION" > "$OUT/x2.kafkajs-100b.json"
run client-100b x2 produce --topic-prefix kjs --partitions 8 --message-bytes 100 --duration "$DURATION"

tsx test/bench/compare-table.ts "$OUT"
