#!/usr/bin/env bash
# Soak: records the demo room for DURATION (default 1h) against a local `spacetui serve`
# (or, with "livekit", published into a LiveKit dev server) and samples the recorder's
# RSS and CPU every 10 s into OUT (default soak.tsv): seconds, rss_kib, cpu_seconds. Run
# outside CI; the figures go in docs/soak.md.
# Usage: scripts/soak.sh [DURATION] [OUT] [livekit]
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-1h}"; out="${2:-soak.tsv}"
go build -buildvcs=auto -o bin/spacetui ./cmd/spacetui
dir=$(mktemp -d)
if [ "${3:-}" = livekit ]; then
  . scripts/lkdemo.sh
  lkdemo_start 18767 "$dir"
  srv=$lkdemo_pid
  url=$lkdemo_join
else
  bin/spacetui serve --addr 127.0.0.1:18766 >/dev/null 2>&1 &
  srv=$!
  url=ws://127.0.0.1:18766/rooms/demo
fi
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -rf "$dir"' EXIT
sleep 1
# $url is unquoted on purpose: with LiveKit it carries the credential flags.
bin/spacetui record $url -o "$dir/rec" --for "$dur" --log "$dir/log" >/dev/null 2>&1 &
rec=$!
tck=$(getconf CLK_TCK)
printf 'seconds\trss_kib\tcpu_seconds\n' > "$out"
start=$(date +%s)
while kill -0 $rec 2>/dev/null; do
  if read -r _ _ _ _ _ _ _ _ _ _ _ _ _ utime stime _ < "/proc/$rec/stat" 2>/dev/null; then
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$rec/status" 2>/dev/null || echo 0)
    printf '%d\t%s\t%.2f\n' $(( $(date +%s) - start )) "$rss" "$(echo "($utime+$stime)/$tck" | bc -l)" >> "$out"
  fi
  sleep 10
done
wait $rec
du -sh "$dir/rec"
for f in "$dir"/rec/audio.ogg "$dir"/rec/tracks/*.ogg; do
  printf '%s: %s s\n' "$(basename "$f")" "$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")"
done
