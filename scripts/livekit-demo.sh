#!/usr/bin/env bash
# Runs the demo room on LiveKit: starts a LiveKit development server on 127.0.0.1:7880
# (building and installing one first if there is none, see setup.sh --livekit) and
# publishes the demo into room "demo", one participant per speaker, until Ctrl-C. It
# prints the spacetui join command to run in another terminal, with the credentials to
# export first (a secret on a command line can be read by every user of the machine).
# Usage: scripts/livekit-demo.sh [--port 7880] [--room demo] [--server-log FILE] [--verbose]
#        LIVEKIT_API_KEY=K LIVEKIT_API_SECRET=S scripts/livekit-demo.sh --url ws://HOST:PORT
#                                                         (a server of your own)
set -euo pipefail
cd "$(dirname "$0")/.."
own_server=true
for arg in "$@"; do
  case "$arg" in --url|--url=*|-url|-url=*) own_server=false ;; esac
done
if $own_server; then scripts/setup.sh --livekit; else scripts/setup.sh; fi
export PATH="$PATH:/usr/local/go/bin"
exec go run ./internal/lktest/lkdemo "$@"
