SHELL := /bin/bash

# make bench: what spacetui costs beside ffplay and mpv, and the Go benchmarks (bench/).
# It needs scripts/setup.sh --test (ffplay, mpv, tmux) and a sound server:
# make bench starts the PulseAudio null sink itself.
.PHONY: bench bench-short test

bench:
	. scripts/pulse-null.sh && go run ./bench -duration 60s -runs 3

bench-short:
	. scripts/pulse-null.sh && go run ./bench -duration 5s -latency 12s -runs 1

test:
	scripts/test.sh
