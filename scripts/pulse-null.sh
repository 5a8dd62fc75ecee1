#!/usr/bin/env bash
# Starts a PulseAudio server with a null sink named "spk" (48 kHz) if none is running, so
# PortAudio -> ALSA -> pulse has a sound card to play to and tests can capture what was
# played from spk.monitor with parec. Source it to get XDG_RUNTIME_DIR exported:
#   . scripts/pulse-null.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/spacetui-xdg-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if ! pactl list short sinks 2>/dev/null | grep -q '^[0-9]*\s*spk\s'; then
  pulseaudio --kill >/dev/null 2>&1 || true
  pulseaudio -D --exit-idle-time=-1 -n \
    --load="module-null-sink sink_name=spk rate=48000" \
    --load=module-native-protocol-unix 2>/dev/null
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
fi
pactl set-default-sink spk
pactl list short sinks | grep -q spk || { echo "pulse-null.sh: could not start PulseAudio with a null sink" >&2; return 1 2>/dev/null || exit 1; }
