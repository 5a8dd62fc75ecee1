#!/usr/bin/env bash
# Runs the demo room on Mumble: starts Debian's Mumble server (murmurd, installed with
# mumble-server the first time) on 127.0.0.1:64738 with its own files in a temporary
# directory, and speaks the demo's three voices into channel "Demo", one Mumble user
# each, their captions typed into the channel's chat, until Ctrl-C. It prints the
# spacetui join command to run in another terminal.
# Usage: scripts/mumble-demo.sh [-port 64738] [-channel Demo]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v murmurd >/dev/null && [ ! -x /usr/sbin/murmurd ]; then
  echo "installing mumble-server (murmurd)..." >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y mumble-server >&2; else sudo apt-get install -y mumble-server >&2; fi
fi
export PATH="$PATH:/usr/local/go/bin"
exec go run ./internal/mumbletest/mumbledemo "$@"
