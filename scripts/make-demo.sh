#!/usr/bin/env bash
# make-demo.sh regenerates the embedded demo room: server/demo/demo.ogg (one Ogg Opus
# stream, mono 48 kHz, 20 ms frames) and server/demo/demo.vtt (one cue per line, with the
# line's real timing and a <v Speaker> voice tag). Three synthetic voices from espeak-ng
# hold a short conversation; the server loops it forever.
#
# Needs: espeak-ng, sox (with soxi), opusenc (opus-tools). Run from anywhere:
#   scripts/make-demo.sh
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/server/demo"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Speaker -> espeak-ng voice and speed (words per minute).
declare -A voice=([Ada]="en-gb+f2" [Grace]="en-us+f4" [Linus]="en+m7")
declare -A speed=([Ada]=200 [Grace]=205 [Linus]=195)

pause=0.40 # seconds of silence between lines (under 1 s, so the speaker carries over)
lead=0.30  # silence before the first line

# The conversation: one line per row, "Speaker|text".
script=$(cat <<'LINES'
Ada|Welcome back to the room. Today: what happens when a live audio room melts under load.
Grace|The outage itself is rarely the real story. The retry storm that follows is.
Linus|Right. A hundred thousand clients lose the connection in the same second, and they all reconnect in the same second.
Ada|So the server comes back, and is knocked over again by its own listeners.
Grace|Which is why every client needs backoff. Wait a little, then longer, up to a cap.
Linus|And jitter on top of the backoff. Without randomness the retries stay synchronized.
Ada|Full jitter, then. Pick a random delay between zero and the current cap.
Grace|Yes. It spreads the herd across the whole window, instead of hitting the server in waves.
Linus|The server has to help too. When it is full, it should say so before the upgrade.
Ada|A five oh three, with a retry after header, and the client treats that as a floor.
Grace|And a listener who cannot keep up gets dropped, not waited for. One slow phone must never stall the room.
Linus|Bounded queues everywhere. Encode each frame once, share the same bytes with every listener.
Ada|Let us talk about the other kind of delay. Jitter buffers.
Grace|Packets arrive unevenly, so the client holds a few of them back before it plays.
Linus|Sixty milliseconds is plenty on a good network. Grow it when the network gets worse.
Ada|And when a packet is simply lost?
Grace|Opus can conceal it. A short gap sounds like a tiny blur, not a click.
Linus|Longer gaps should be honest. Tell the user how many seconds were lost, and why.
Ada|Never give up silently, never hammer the server, and always say what comes next.
Grace|That is the whole checklist. Thanks for listening, everyone.
LINES
)

vtt="$work/demo.vtt"
printf 'WEBVTT\n\n' >"$vtt"
parts=()
sox -n -r 48000 -c 1 -b 16 "$work/lead.wav" trim 0 "$lead"
sox -n -r 48000 -c 1 -b 16 "$work/pause.wav" trim 0 "$pause"
parts+=("$work/lead.wav")
t=$lead
i=0
stamp() { # seconds -> WebVTT timestamp HH:MM:SS.mmm
	awk -v s="$1" 'BEGIN { ms = int(s * 1000 + 0.5); printf "%02d:%02d:%02d.%03d", ms / 3600000, (ms / 60000) % 60, (ms / 1000) % 60, ms % 1000 }'
}
while IFS='|' read -r who text; do
	[ -n "$who" ] || continue
	i=$((i + 1))
	raw="$work/raw$i.wav"
	line="$work/line$i.wav"
	espeak-ng -v "${voice[$who]}" -s "${speed[$who]}" -w "$raw" "$text"
	# 48 kHz mono, trailing silence trimmed so the cue ends when the voice does.
	sox "$raw" -r 48000 -c 1 -b 16 "$line" reverse silence 1 0.05 0.5% reverse
	dur=$(soxi -D "$line")
	end=$(awk -v a="$t" -v b="$dur" 'BEGIN { printf "%.3f", a + b }')
	printf 'c%d\n%s --> %s\n<v %s>%s\n\n' "$i" "$(stamp "$t")" "$(stamp "$end")" "$who" "$text" >>"$vtt"
	parts+=("$line" "$work/pause.wav")
	t=$(awk -v a="$end" -v b="$pause" 'BEGIN { printf "%.3f", a + b }')
done <<<"$script"

sox "${parts[@]}" "$work/demo.wav"
opusenc --quiet --bitrate 20 --framesize 20 --title "Keeping rooms alive under load" \
	--artist "spacetui demo" "$work/demo.wav" "$work/demo.ogg"

mkdir -p "$out"
cp "$work/demo.ogg" "$work/demo.vtt" "$out/"
echo "demo: $(soxi -D "$work/demo.wav") s, $(wc -c <"$out/demo.ogg") bytes ogg, $i cues" >&2
