#!/usr/bin/env bash
# Sets everything up (packages, a PulseAudio null sink) and runs every test: vet, format,
# the unit, fuzz-seed and race tests, and the end-to-end tests against the real binary
# (tmux for the TUI, parec on the null sink for the sound). Nothing is skipped here:
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
go build -o bin/spacetui ./cmd/spacetui
CGO_ENABLED=0 go build -o /dev/null ./cmd/spacetui
done_stage

stage "tests (race)"
SPACETUI_E2E=require SPACETUI_BIN="$PWD/bin/spacetui" go test -race -count=1 -timeout 15m ./...
done_stage
echo "all tests passed"
