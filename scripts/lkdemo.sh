# Sourced by measure.sh and soak.sh: lkdemo_start PORT DIR builds internal/lktest/lkdemo,
# starts it (a LiveKit dev server on PORT with the demo room published into "demo") with
# its output in DIR/lkdemo, and sets lkdemo_pid and lkdemo_join: the room URL followed
# by the credential flags, for `spacetui join $lkdemo_join` (unquoted on purpose).
lkdemo_start() {
  local port="$1" dir="$2"
  go build -o bin/lkdemo ./internal/lktest/lkdemo
  bin/lkdemo --port "$port" >"$dir/lkdemo" 2>&1 &
  lkdemo_pid=$!
  for _ in $(seq 60); do grep -q "spacetui join" "$dir/lkdemo" && break; sleep 1; done
  # The line reads "spacetui join URL --api-key K --api-secret S".
  lkdemo_join="$(grep -m1 "spacetui join" "$dir/lkdemo" | sed 's/^ *spacetui join //')"
  if [ -z "$lkdemo_join" ]; then
    echo "lkdemo did not start:" >&2; cat "$dir/lkdemo" >&2; return 1
  fi
}
