#!/usr/bin/env bash
# Chaos soak (run by hand): hunts for acknowledged records that are lost, duplicated or reordered.
# x2 up (1 sequencer, 2 commits with W=2, GATEWAYS gateways) runs while PRODUCERS idempotent
# acks=all producers (python3-confluent-kafka, test/gateway/chaos-soak.py) write to several topics;
# every KILL_MIN..KILL_MAX s one child role (sequencer, a commit, a gateway) gets SIGKILL and x2 up
# restarts it, and one kill in WHOLE_EVERY takes the whole x2 up process group down instead, then
# x2 up starts again on the same data dir. At the end the producers stop and every partition is read
# from offset 0 and checked against the acknowledgements (at its offset, once, in sequence order,
# offsets without gaps); then everything gets kill -9 once more, x2 up restarts, and the read is
# repeated, which must also still hold every record of the first read.
# Usage: test/gateway/chaos-soak.sh [seconds]   (default 120; needs dist/x2 and python3-confluent-kafka)
# Environment: GATEWAYS (1), KILL_MIN / KILL_MAX (1 / 10 s), WHOLE_EVERY (8; 0 = never), PRODUCERS (2),
#   RATE (records/s per producer, 500), TOPICS ("chaos-a:1,chaos-b:3,chaos-c:8"), MESSAGE_TIMEOUT_MS
#   (30000), SEED (for the kill schedule), KILL_ROLES (default every role, e.g. "sequencer gateway-0"),
#   PRODUCER_DEBUG (librdkafka debug contexts for the producers' logs, e.g. "eos"), READ_TIMEOUT_S (600),
#   KEEP=1 keeps the work dir (it is always kept on FAIL).
# Exit status: 0 PASS, 1 FAIL (a check failed or a producer died), 2 the cluster did not come back.
# The work dir kept on FAIL holds what a diagnosis needs: kills (unix time, role, pid), acked-p*
# (every acknowledgement), producer-p*.err, up.out (x2 up's output over every start), data/logs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
X2=${X2:-$HERE/../../dist/x2}
PY=/usr/bin/python3
SOAK_SECONDS=${1:-120}
GATEWAYS=${GATEWAYS:-1}
KILL_MIN=${KILL_MIN:-1}
KILL_MAX=${KILL_MAX:-10}
WHOLE_EVERY=${WHOLE_EVERY:-8}
PRODUCERS=${PRODUCERS:-2}
RATE=${RATE:-500}
TOPICS=${TOPICS:-chaos-a:1,chaos-b:3,chaos-c:8}
SEED=${SEED:-$$}
export MESSAGE_TIMEOUT_MS=${MESSAGE_TIMEOUT_MS:-30000}
RANDOM=$SEED
WORK=$(mktemp -d /tmp/x2-chaos-soak-XXXXXX)
DATA=$WORK/data
UP_PID=
PRODUCER_PIDS=()
VERDICT=FAIL
cleanup() {
  for pid in "${PRODUCER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$UP_PID" ]; then
    kill "$UP_PID" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$UP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 -- "-$UP_PID" 2>/dev/null || true  # its process group: children left behind, if any
  fi
  wait 2>/dev/null || true
  if [ "$VERDICT" = PASS ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "work dir kept: $WORK"; fi
}
trap cleanup EXIT

PORT=$((30000 + RANDOM % 20000))
BOOTSTRAP=$(for i in $(seq 0 $((GATEWAYS - 1))); do printf '127.0.0.1:%d,' $((PORT + i)); done)
BOOTSTRAP=${BOOTSTRAP%,}
STARTS=0
now() { date +%s.%N | cut -c1-14; }

# x2 up in a process group of its own (setsid: it leads it), so kill -9 -PGID takes the whole
# cluster down at once, as a power cut of the machine would (the children share its group).
start_up() {
  STARTS=$((STARTS + 1))
  echo "== x2 up start $STARTS at $(date -u +%T)" >> "$WORK/up.out"
  setsid "$X2" up --data "$DATA" --port "$PORT" --sequencer-port 0 --gateways "$GATEWAYS" \
    >> "$WORK/up.out" 2>&1 &
  UP_PID=$!
  local started
  started=$(date +%s)
  for _ in $(seq 1 1500); do
    [ "$(grep -c 'cluster serving' "$WORK/up.out")" -ge "$STARTS" ] && break
    kill -0 "$UP_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$(grep -c 'cluster serving' "$WORK/up.out")" -lt "$STARTS" ]; then
    echo "x2 up start $STARTS did not serve within 150 s:"; tail -n 20 "$WORK/up.out"
    exit 2
  fi
  echo "$(now) up-start $(( $(date +%s) - started ))s" >> "$WORK/events"
}

# The pid of one role among x2 up's children (empty while x2 up is restarting it).
role_pid() {
  local pattern
  case $1 in
    sequencer) pattern=' sequencer --listen ' ;;
    commit-*) pattern=" --member-id $1 " ;;
    gateway-*) pattern=" --node-id ${1#gateway-} " ;;
  esac
  ps -o pid=,args= --ppid "$UP_PID" | awk -v p="$pattern" 'index($0 " ", p) {print $1; exit}'
}

ROLES=(sequencer commit-1 commit-2)
for i in $(seq 0 $((GATEWAYS - 1))); do ROLES+=("gateway-$i"); done
# KILL_ROLES narrows the victims down (to reproduce a failure seen after one role's kills).
read -r -a VICTIMS <<< "${KILL_ROLES:-${ROLES[*]}}"
declare -A KILLS=([whole]=0 [skipped]=0)
for role in "${ROLES[@]}"; do KILLS[$role]=0; done

start_up
"$PY" "$HERE/chaos-soak.py" create "$BOOTSTRAP" "$TOPICS"
for i in $(seq 1 "$PRODUCERS"); do
  "$PY" "$HERE/chaos-soak.py" produce "$BOOTSTRAP" "$TOPICS" "p$i" "$RATE" "$WORK/acked-p$i" \
    > "$WORK/producer-p$i.json" 2> "$WORK/producer-p$i.err" &
  PRODUCER_PIDS+=($!)
done
echo "chaos soak: ${SOAK_SECONDS}s, gateways $GATEWAYS, kills every ${KILL_MIN}-${KILL_MAX}s (whole cluster 1 in" \
  "$WHOLE_EVERY), $PRODUCERS producers x $RATE records/s, topics $TOPICS, seed $SEED, port $PORT, work $WORK"

END=$(( $(date +%s) + SOAK_SECONDS ))
while [ "$(date +%s)" -lt "$END" ]; do
  sleep "$((KILL_MIN + RANDOM % (KILL_MAX - KILL_MIN + 1))).$((RANDOM % 10))"
  if ! kill -0 "$UP_PID" 2>/dev/null; then
    # x2 up itself should never exit; if it did, say so and carry on with a new one.
    echo "$(now) up-exited-unasked" >> "$WORK/events"; echo "x2 up exited by itself; restarting it"
    start_up
  fi
  if [ "$WHOLE_EVERY" -gt 0 ] && [ $((RANDOM % WHOLE_EVERY)) -eq 0 ]; then
    echo "$(now) whole $UP_PID" >> "$WORK/kills"
    kill -9 -- "-$UP_PID"
    wait "$UP_PID" 2>/dev/null || true
    KILLS[whole]=$((KILLS[whole] + 1))
    start_up
    continue
  fi
  role=${VICTIMS[$((RANDOM % ${#VICTIMS[@]}))]}
  pid=$(role_pid "$role")
  if [ -z "$pid" ]; then
    echo "$(now) skipped $role (not running: being restarted)" >> "$WORK/kills"
    KILLS[skipped]=$((KILLS[skipped] + 1))
    continue
  fi
  echo "$(now) $role $pid" >> "$WORK/kills"
  kill -9 "$pid" 2>/dev/null || true
  KILLS[$role]=$((KILLS[$role] + 1))
done

echo "soak over at $(date -u +%T); stopping the producers (they flush what is queued)"
for pid in "${PRODUCER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
# A producer that died took the load away: the soak did not test what it says.
PRODUCERS_FAILED=0
for i in "${!PRODUCER_PIDS[@]}"; do
  wait "${PRODUCER_PIDS[$i]}" && continue
  echo "producer p$((i + 1)) exited with status $?:"; tail -n 5 "$WORK/producer-p$((i + 1)).err"
  PRODUCERS_FAILED=$((PRODUCERS_FAILED + 1))
done
PRODUCER_PIDS=()
cat "$WORK"/producer-p*.json

# Settle: every role running again, then the read (which retries while gateways finish replaying).
for _ in $(seq 1 600); do
  running=0
  for role in "${ROLES[@]}"; do [ -n "$(role_pid "$role")" ] && running=$((running + 1)); done
  [ "$running" -eq "${#ROLES[@]}" ] && break
  sleep 0.1
done
sleep 3
kill_summary() {
  local line="kills:"
  for role in "${ROLES[@]}" whole skipped; do line="$line $role=${KILLS[$role]}"; done
  echo "$line; x2 up starts $STARTS (seconds to serve: $(awk '/up-start/ {printf "%s ", $3}' "$WORK/events"));" \
    "child exits x2 up restarted: $(grep -c 'restarting in' "$WORK/up.out" || true)"
}
status=0
[ "$PRODUCERS_FAILED" -eq 0 ] || status=1
echo "== read 1 (after the soak)"
"$PY" "$HERE/chaos-soak.py" verify "$BOOTSTRAP" "$TOPICS" "$WORK/read1.pickle" --kills "$WORK/kills" \
  "$WORK"/acked-p* | tee "$WORK/read1.json" || status=1

echo "== read 2 (after kill -9 of the whole cluster and a restart)"
kill -9 -- "-$UP_PID"; wait "$UP_PID" 2>/dev/null || true
start_up
"$PY" "$HERE/chaos-soak.py" verify "$BOOTSTRAP" "$TOPICS" "$WORK/read2.pickle" --previous "$WORK/read1.pickle" \
  "$WORK"/acked-p* | tee "$WORK/read2.json" || status=1

kill_summary
"$PY" - "$WORK" "$status" <<'PY'
import json, sys
work, status = sys.argv[1], int(sys.argv[2])
for name in ('read1', 'read2'):
    try:
        r = json.load(open(f'{work}/{name}.json'))
    except (OSError, ValueError):
        print(f'{name}: no result'); continue
    print(f"{name}: {r['verdict']} acknowledged {r['acknowledged']} found {r['found']} missing {r['missing']} "
          f"wrong-value {r['wrongValue']} duplicated {r['duplicated']} out-of-order {r['outOfOrder']} "
          f"offset-gaps {r['offsetGaps']} vanished {r['vanished']} consumed {r['consumed']} "
          f"(unacknowledged but present {r['unacknowledgedPresent']}) read {r['readSeconds']}s")
    for example in r['examples']:
        print('   ', example)
    if 'ackStalls' in r:
        print('  longest pause of acknowledgements after a kill, per role: ' + ', '.join(
            f"{role} max {s['maxS']}s median {s['medianS']}s" for role, s in sorted(r['ackStalls'].items())))
PY
if [ "$status" -eq 0 ]; then VERDICT=PASS; fi
[ "$PRODUCERS_FAILED" -eq 0 ] || echo "$PRODUCERS_FAILED producer(s) died during the soak (see above): FAIL"
echo "chaos soak: $VERDICT"
exit "$status"
