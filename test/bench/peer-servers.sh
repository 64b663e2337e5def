# Shared by the peer benchmark scripts (sourced, after OUT and DATA are set): processes started
# with `... & pids+=($!)` are killed and DATA removed at exit; free_port and wait_port find and
# await loopback ports.
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

free_port() {
  "$PWD/node_modules/.bin/node" -e \
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
wait_port() {
  for _ in $(seq 1 600); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
