#!/usr/bin/env bash
# Installs what spacetui needs to build, play and test on Debian/Ubuntu (apt-get, with
# sudo when not root). On macOS it says what to install with Homebrew instead.
# Usage: scripts/setup.sh [--test] [--livekit]
#   --test     adds the tools the test suite uses, and implies --livekit
#   --livekit  adds a LiveKit server (for the LiveKit tests and scripts/livekit-demo.sh),
#              built with go install when none is found
set -euo pipefail

runtime=(libopus-dev libopusfile-dev portaudio19-dev pkg-config gcc libc6-dev
         libasound2-plugins pulseaudio pulseaudio-utils ca-certificates git)
testing=(tmux opus-tools ffmpeg sox espeak-ng procps make mpv icecast2 mumble-server)

# The LiveKit server version the tests are written against; newer tags do not build
# from the module proxy.
livekit_version=v1.9.11

want_test=false
want_livekit=false
for arg in "$@"; do
  case "$arg" in
  --test) want_test=true; want_livekit=true ;;
  --livekit) want_livekit=true ;;
  *) echo "usage: scripts/setup.sh [--test] [--livekit]" >&2; exit 2 ;;
  esac
done

case "$(uname -s)" in
Darwin)
  echo "macOS: brew install go opus opusfile portaudio pkg-config"
  $want_test && echo "       and for the tests: brew install tmux opus-tools ffmpeg sox espeak-ng pulseaudio"
  $want_livekit && echo "       and for LiveKit: brew install livekit (or: go install github.com/livekit/livekit-server/cmd/server@$livekit_version)"
  exit 0 ;;
Linux) ;;
*) echo "setup.sh: unsupported system $(uname -s); install Go 1.26+, libopus, libopusfile and portaudio by hand" >&2; exit 1 ;;
esac

if ! command -v apt-get >/dev/null; then
  echo "setup.sh: no apt-get here; install Go 1.26+, libopus-dev, libopusfile-dev, portaudio19-dev, pkg-config and pulseaudio with your package manager" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi

pkgs=("${runtime[@]}")
$want_test && pkgs+=("${testing[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go: the distribution's package is usually too old; use /usr/local/go if it is there.
export PATH="$PATH:/usr/local/go/bin"
if ! command -v go >/dev/null; then
  echo "setup.sh: Go 1.26 or newer is needed: https://go.dev/doc/install (then run this again)" >&2
  exit 1
fi

# LiveKit: found where internal/lktest looks for it ($SPACETUI_LIVEKIT_SERVER, PATH,
# /usr/local/bin, the "server" go install leaves in GOBIN or GOPATH/bin), else built and installed
# as /usr/local/bin/livekit-server.
find_livekit() {
  local p
  for p in "${SPACETUI_LIVEKIT_SERVER:-}" "$(command -v livekit-server || true)" /usr/local/bin/livekit-server; do
    [ -n "$p" ] && [ -x "$p" ] && { echo "$p"; return 0; }
  done
  p="$(go env GOBIN)"
  p="${p:-$(go env GOPATH | cut -d: -f1)/bin}/server"
  [ -x "$p" ] || return 1
  case "$("$p" --version 2>/dev/null)" in
  "livekit-server "*) echo "$p" ;;
  *) return 1 ;;
  esac
}
if $want_livekit; then
  if lk=$(find_livekit); then
    echo "setup.sh: LiveKit server: $lk"
  else
    echo "setup.sh: building the LiveKit server $livekit_version with go install (about 100 s on 2 cores)"
    gobin=$(mktemp -d)
    trap 'rm -rf "$gobin"' EXIT
    GOBIN="$gobin" go install "github.com/livekit/livekit-server/cmd/server@$livekit_version"
    $sudo install -m 0755 "$gobin/server" /usr/local/bin/livekit-server
    echo "setup.sh: LiveKit server: /usr/local/bin/livekit-server"
  fi
fi
echo "setup.sh: ready ($(go version))"
