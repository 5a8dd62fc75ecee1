#!/usr/bin/env bash
# Sets everything up, builds spacetui and starts the demo room in this terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PATH:/usr/local/go/bin"
go build -buildvcs=auto -o bin/spacetui ./cmd/spacetui
exec bin/spacetui demo "$@"
