#!/usr/bin/env bash
# What TLS on the Kafka port costs (run by hand; results go to BENCHMARKS.md, "TLS on the Kafka
# listener"). Two x2 up clusters side by side (1 sequencer, 2 commits, W=2, 1 gateway each), one
# plaintext and one with --tls-cert/--tls-key (RSA 2048, made with openssl here); then the same
# `x2 bench` runs against each, interleaved in pairs (which one goes first alternates): produce
# and e2e, 1 KiB records, acks=all, at max rate and at a fixed rate. Prints per run the MB/s,
# produce-ack and end-to-end p50/p99, and the CPU ms per MB of the gateway and of the bench client
# (from /proc before and after), then the TLS/plaintext ratio of each figure's median.
# Usage: test/gateway/bench-tls.sh [pairs] [seconds] [fixed rate]   (needs dist/x2, openssl, python3)
set -euo pipefail
X2=${X2:-$(dirname "$0")/../../dist/x2}
PAIRS=${1:-3}
SECONDS_RUN=${2:-8}
RATE=${3:-5000}
WORK=$(mktemp -d /tmp/x2-bench-tls-XXXXXX)
PIDS=()
trap 'for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

cd "$WORK"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=bench CA' 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=127.0.0.1' 2>/dev/null
echo 'subjectAltName=IP:127.0.0.1' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2 -extfile server.ext \
  -out server.pem 2>/dev/null
cd - > /dev/null

start_up() { # name port [flags...]: starts x2 up, waits until it serves
  local name=$1 port=$2
  shift 2
  "$X2" up --data "$WORK/$name" --port "$port" --sequencer-port 0 "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" &
  PIDS+=($!)
  for _ in $(seq 1 1200); do grep -q 'cluster serving' "$WORK/$name.out" 2>/dev/null && break; sleep 0.1; done
  grep -q 'cluster serving' "$WORK/$name.out" || { echo "$name did not serve"; tail -n 5 "$WORK/$name.err"; exit 1; }
}
gateway_pid() { # name
  local seq_addr
  seq_addr=$(awk '/^  sequencer/ {print $2}' "$WORK/$1.out")
  pgrep -f "gateway --sequencer $seq_addr" | head -1
}
PLAIN_PORT=$((30000 + RANDOM % 10000))
TLS_PORT=$((PLAIN_PORT + 10000))
start_up plain "$PLAIN_PORT"
start_up tls "$TLS_PORT" --tls-cert "$WORK/server.pem" --tls-key "$WORK/server.key"
declare -A GATEWAY=([plain]=$(gateway_pid plain) [tls]=$(gateway_pid tls))
declare -A TARGET=([plain]="kafka://127.0.0.1:$PLAIN_PORT" [tls]="kafka://127.0.0.1:$TLS_PORT")
declare -A CLIENT_TLS=([plain]="" [tls]="--tls-ca $WORK/ca.pem")
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run=0
bench() { # kind mode rate
  local kind=$1 mode=$2 rate=$3 before after
  run=$((run + 1))
  before=$(ticks "${GATEWAY[$kind]}")
  # shellcheck disable=SC2086
  /usr/bin/time -o "$WORK/time" -f '%U %S' "$X2" bench "$mode" --target "${TARGET[$kind]}" ${CLIENT_TLS[$kind]} \
    --message-bytes 1KiB --duration "$SECONDS_RUN" --rate "$rate" --topic-prefix "r$run" --json \
    > "$WORK/run-$run.json" 2> /dev/null
  after=$(ticks "${GATEWAY[$kind]}")
  echo "$kind $mode $rate $((after - before)) $(tail -n 1 "$WORK/time") $WORK/run-$run.json" >> "$WORK/runs"
}

"$X2" bench produce --target "${TARGET[plain]}" --duration 3 --topic-prefix warm > /dev/null 2>&1
# shellcheck disable=SC2086
"$X2" bench produce --target "${TARGET[tls]}" ${CLIENT_TLS[tls]} --duration 3 --topic-prefix warm > /dev/null 2>&1
for pair in $(seq 1 "$PAIRS"); do
  order="plain tls"
  [ $((pair % 2)) -eq 0 ] && order="tls plain"
  for workload in "produce max" "e2e max" "produce $RATE" "e2e $RATE"; do
    for kind in $order; do
      # shellcheck disable=SC2086
      bench "$kind" $workload
    done
  done
done

python3 - "$WORK/runs" <<'PY'
import json, statistics, sys
rows = {}
print('kind  mode    rate  MB/s   ack p50  ack p99  e2e p50  e2e p99  gateway ms/MB  client ms/MB')
for line in open(sys.argv[1]):
    kind, mode, rate, gateway_ticks, user, system, path = line.split()
    result = json.load(open(path))
    produced = result['produced']
    megabytes = produced['acked'] * 1024 / 1e6
    lost = (result['consumed'] or {}).get('lost') or 0
    figures = {
        'MB/s': produced['megabytesPerSecond'],
        'ack p50': result['ackLatency']['p50Ms'], 'ack p99': result['ackLatency']['p99Ms'],
        'e2e p50': result['e2eLatency']['p50Ms'] if result['e2eLatency'] else float('nan'),
        'e2e p99': result['e2eLatency']['p99Ms'] if result['e2eLatency'] else float('nan'),
        'gateway ms/MB': int(gateway_ticks) * 10 / megabytes,
        'client ms/MB': (float(user) + float(system)) * 1000 / megabytes,
    }
    rows.setdefault((mode, rate), {}).setdefault(kind, []).append(figures)
    print(f"{kind:5} {mode:7} {rate:>5} " + ' '.join(f'{value:7.2f}' for value in figures.values())
          + (f'  LOST {lost}' if lost else ''))
print('\nTLS / plaintext, ratio of medians:')
for (mode, rate), kinds in rows.items():
    ratios = []
    for name in kinds['plain'][0]:
        plain = statistics.median(run[name] for run in kinds['plain'])
        tls = statistics.median(run[name] for run in kinds['tls'])
        ratios.append(f'{name} {tls / plain:.2f}' if plain == plain and plain > 0 else f'{name} -')
    print(f'{mode} {rate}: ' + ', '.join(ratios))
PY
