#!/usr/bin/env bash
# Measures CPU time and peak memory (max RSS) of `spacetui join` on the demo room over a
# given duration (default 60 s), headless and in the TUI (under tmux, 80x24). With
# "livekit", the demo room is published into a LiveKit dev server (scripts/setup.sh
# --livekit) and joined there; only the client is measured.
# Usage: scripts/measure.sh [DURATION] [livekit]   needs: /usr/bin/time (package "time"), tmux
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-60s}"
go build -buildvcs=auto -o bin/spacetui ./cmd/spacetui
out=$(mktemp -d)
if [ "${2:-}" = livekit ]; then
  . scripts/lkdemo.sh
  lkdemo_start 18766 "$out"
  srv=$lkdemo_pid
  trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null' EXIT
  url=$lkdemo_join
else
  bin/spacetui serve --addr 127.0.0.1:18765 >/dev/null 2>&1 &
  srv=$!
  trap 'kill $srv 2>/dev/null' EXIT
  sleep 1
  url=ws://127.0.0.1:18765/rooms/demo
fi
# $url is unquoted on purpose: with LiveKit it carries the credential flags.
/usr/bin/time -f "%U %S %M %e" -o "$out/headless" bin/spacetui join $url --headless --for "$dur" >/dev/null 2>&1
tmux new-session -d -s spacetui-measure -x 80 -y 24 -e "XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-}" \
  "/usr/bin/time -f '%U %S %M %e' -o $out/tui bin/spacetui join $url --for $dur --log $out/tui.log"
while tmux has-session -t spacetui-measure 2>/dev/null; do sleep 1; done
for mode in headless tui; do
  read -r user sys rss wall < "$out/$mode"
  awk -v m="$mode" -v u="$user" -v s="$sys" -v r="$rss" -v w="$wall" \
    'BEGIN { printf "%-8s wall %5.1f s  cpu %5.2f s (%4.1f%% of one core)  peak RSS %5.1f MiB\n", m, w, u+s, 100*(u+s)/w, r/1024 }'
done
