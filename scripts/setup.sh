#!/usr/bin/env bash
# Installs what spacetui needs to build, play and test on Debian/Ubuntu (apt-get, with
# sudo when not root). On macOS it says what to install with Homebrew instead.
# Usage: scripts/setup.sh [--test]   (--test adds the tools the test suite uses)
set -euo pipefail

runtime=(libopus-dev libopusfile-dev portaudio19-dev pkg-config gcc libc6-dev
         libasound2-plugins pulseaudio pulseaudio-utils ca-certificates git)
testing=(tmux opus-tools ffmpeg sox espeak-ng procps)

want_test=false
[ "${1:-}" = "--test" ] && want_test=true

case "$(uname -s)" in
Darwin)
  echo "macOS: brew install go opus opusfile portaudio pkg-config"
  $want_test && echo "       and for the tests: brew install tmux opus-tools ffmpeg sox espeak-ng pulseaudio"
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
echo "setup.sh: ready ($(go version))"
