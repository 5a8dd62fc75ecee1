package ui

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/ui/components/speakers"
)

// TestRedrawsOnlyWhatChanged: frame after frame, the screen moves with the meters and
// the clocks and only when they move by a step it can show; a frame in which nothing did
// is the very string of the last one, which Bubble Tea compares in one step and skips.
func TestRedrawsOnlyWhatChanged(t *testing.T) {
	f := newFixture(t, true)
	f.size(120, 40) // with the activity pane and its room meter
	at := t0
	f.m.now = func() time.Time { return at }
	level := func(ada float64) func() {
		return func() {
			s := f.pb.Snapshot()
			s.Speakers = slices.Clone(s.Speakers)
			s.Speakers[0].Level = ada
			f.m.Update(snapshotMsg{snap: s})
		}
	}
	later := func(d time.Duration) func() { return func() { at = at.Add(d) } }
	reconnecting := transport.State{State: transport.StateReconnecting, Reason: transport.ReasonRestart, Attempt: 1, RetryIn: 7 * time.Second}
	last := f.view()
	for _, step := range []struct {
		name string
		do   func()
		want string // on the screen if it was drawn again; "" if it was not
	}{
		{"nothing", func() {}, ""},
		{"the same snapshot", level(0.8), ""},
		{"a level within a meter's step", level(0.80001), ""},
		{"half a second", later(500 * time.Millisecond), ""},
		{"the clock's next second", later(500 * time.Millisecond), "12:05"},
		{"a meter's step", level(0.4), "│ room  " + speakers.Meter(0.4, 38) + " "},
		{"a reconnect", func() { f.send(reconnecting) }, "retry in 7 s"},
		{"half a second of the countdown", later(500 * time.Millisecond), ""},
		{"the countdown's next second", later(600 * time.Millisecond), "retry in 6 s"},
	} {
		step.do()
		v := f.view()
		switch same := unsafe.StringData(v) == unsafe.StringData(last); {
		case step.want == "" && !same:
			t.Errorf("%s: the screen was drawn again", step.name)
		case step.want != "" && (same || v == last):
			t.Errorf("%s: the screen was not drawn again", step.name)
		case !strings.Contains(strip(v), step.want):
			t.Errorf("%s: the screen lacks %q:\n%s", step.name, step.want, strip(v))
		}
		last = v
	}
}

// TestTickSlowsWhenNothingMoves: the snapshots come at 20 Hz while a meter moves and for
// a second after, then at 4 Hz until one moves again.
func TestTickSlowsWhenNothingMoves(t *testing.T) {
	f := newFixture(t, true)
	at := t0
	f.m.now = func() time.Time { return at }
	tick := func(ada float64) time.Duration {
		s := f.pb.Snapshot()
		s.Speakers = slices.Clone(s.Speakers)
		s.Speakers[0].Level = ada
		f.m.Update(snapshotMsg{snap: s, rearm: true})
		f.view() // as Bubble Tea does after every message
		return f.m.tickInterval(at)
	}
	if d := tick(0.5); d != TickInterval {
		t.Fatalf("a meter moved, and the next snapshot is in %v", d)
	}
	for at.Sub(t0) < idleAfter-TickInterval {
		at = at.Add(TickInterval)
		if d := tick(0.5); d != TickInterval {
			t.Fatalf("%v after a meter moved, the next snapshot is in %v", at.Sub(t0), d)
		}
	}
	at = at.Add(TickInterval)
	if d := tick(0.5); d != IdleTickInterval {
		t.Fatalf("a second without a move, the next snapshot is in %v", d)
	}
	at = at.Add(IdleTickInterval)
	if d := tick(0.6); d != TickInterval {
		t.Fatalf("the first move after a quiet second is followed in %v", d)
	}
}
