#!/usr/bin/env bash
# Sets everything up (packages, a PulseAudio null sink) and runs every test: vet, format,
# the unit, fuzz-seed and race tests, the LiveKit, Mumble and HTTP-stream transports against
# real servers (LiveKit, murmurd, icecast2, FFmpeg),
# and the end-to-end tests against the real binary (tmux for the TUI, parec on the null
# sink for the sound, LiveKit rooms). Nothing is skipped here:
# SPACETUI_E2E=require turns a missing tool into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
stage() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; SECONDS=0; }
done_stage() { echo "-- took ${SECONDS}s"; }

stage "setup"; scripts/setup.sh --test; done_stage
export PATH="$PATH:/usr/local/go/bin"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

stage "sound server"; . scripts/pulse-null.sh; done_stage

stage "format and vet"
unformatted=$(gofmt -l $(git ls-files '*.go'))
[ -z "$unformatted" ] || { echo "gofmt needed: $unformatted" >&2; exit 1; }
go vet ./...
done_stage

stage "build"
go build -buildvcs=auto -o bin/spacetui ./cmd/spacetui
CGO_ENABLED=0 go build -o /dev/null ./cmd/spacetui
done_stage

# Packages that run real servers wait for the unit tests, so as not to starve their timing.
real='/cmd/spacetui$|/transport/livekit$|/internal/lktest$|/transport/mumble$|/transport/httpstream$'

stage "unit tests (race)"
go test -race -count=1 -timeout 10m $(go list ./... | grep -vE "$real")
done_stage

stage "real-server transport tests (race: LiveKit, murmurd, icecast2 and FFmpeg's HLS)"
SPACETUI_E2E=require go test -race -count=1 -timeout 10m ./internal/lktest ./transport/livekit ./transport/mumble ./transport/httpstream
done_stage

# The end-to-end tests run real processes (thousands of simulated listeners among them):
# alone, so they do not starve the timing of the unit tests on a 2-core machine.
stage "end-to-end tests"
log=$(mktemp)
status=0
SPACETUI_E2E=require SPACETUI_BIN="$PWD/bin/spacetui" \
  go test -race -count=1 -timeout 15m -v ./cmd/spacetui >"$log" 2>&1 || status=$?
# The measured figures (t.Logf) and the verdicts; the servers' and clients' own logs
# only when something failed.
grep -E '^(--- |ok|FAIL|panic)|_test.go:[0-9]+: ' "$log" | grep -vE '_test.go:[0-9]+: (serve|client): ' || true
if [ "$status" -ne 0 ]; then
  echo "end-to-end tests failed; the last 3000 lines of the log:"; tail -n 3000 "$log"; exit "$status"
fi
done_stage

# The crowd rehearsal on real sockets against the simulator (issue 14): a measured rate,
# so without the race detector, which skips it, and alone on the machine.
stage "crowd rehearsal on loopback"
go test -count=1 -run 'TestPacedRecoveryOnLoopback' -v ./server/ | grep -E '^(--- |ok|FAIL|panic)|_test.go:[0-9]+: '
done_stage

# The benchmark harness, short: it prints the table beside ffplay and mpv (make bench for
# the real run, docs/benchmarks.md); nothing in it is a timed assertion, but it fails if
# spacetui cut, stretched or lost a burst of the clicks room (a correction inside sound)
# or the server skipped a tick with a quarter of its capacity listening.
stage "benchmark harness (short)"
go run ./bench -duration 5s -latency 12s -runs 1
done_stage
echo "all tests passed"
