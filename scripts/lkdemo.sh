# Sourced by measure.sh and soak.sh: lkdemo_start PORT DIR builds internal/lktest/lkdemo,
# starts it (a LiveKit dev server on PORT with the demo room published into "demo") with
# its output in DIR/lkdemo, exports LIVEKIT_API_KEY and LIVEKIT_API_SECRET for spacetui
# (never on its command line) and sets lkdemo_pid and lkdemo_join: the room URL, for
# `spacetui join $lkdemo_join`.
lkdemo_start() {
  local port="$1" dir="$2"
  go build -o bin/lkdemo ./internal/lktest/lkdemo
  bin/lkdemo --port "$port" >"$dir/lkdemo" 2>&1 &
  lkdemo_pid=$!
  for _ in $(seq 60); do grep -q "spacetui join" "$dir/lkdemo" && break; sleep 1; done
  # The lines read "export LIVEKIT_API_KEY=K LIVEKIT_API_SECRET=S" and "spacetui join URL".
  lkdemo_join="$(grep -m1 "spacetui join" "$dir/lkdemo" | sed 's/^ *spacetui join //')"
  LIVEKIT_API_KEY="$(sed -n 's/^ *export LIVEKIT_API_KEY=\([^ ]*\) .*/\1/p' "$dir/lkdemo")"
  LIVEKIT_API_SECRET="$(sed -n 's/^ *export .*LIVEKIT_API_SECRET=\([^ ]*\)$/\1/p' "$dir/lkdemo")"
  export LIVEKIT_API_KEY LIVEKIT_API_SECRET
  if [ -z "$lkdemo_join" ] || [ -z "$LIVEKIT_API_SECRET" ]; then
    echo "lkdemo did not start:" >&2; cat "$dir/lkdemo" >&2; return 1
  fi
}
