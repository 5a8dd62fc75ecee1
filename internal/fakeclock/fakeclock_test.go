package fakeclock

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// fired reports whether ch has received, and what.
func fired(ch <-chan time.Time) (time.Time, bool) {
	select {
	case at := <-ch:
		return at, true
	default:
		return time.Time{}, false
	}
}

func TestNewMovesToEachDeadline(t *testing.T) {
	c := New(t0)
	if at, ok := fired(c.After(time.Second)); !ok || !at.Equal(t0.Add(time.Second)) {
		t.Fatalf("After(1s) fired %v at %v, want at once at t0+1s", ok, at)
	}
	c.Advance(time.Minute)
	if at, ok := fired(c.After(-time.Second)); !ok || !at.Equal(t0.Add(time.Minute+time.Second)) {
		t.Fatalf("After(-1s) fired %v at %v, want at once, the clock not moved back", ok, at)
	}
	if got, want := c.Waits(), []time.Duration{time.Second, -time.Second}; !slices.Equal(got, want) {
		t.Errorf("Waits = %v, want %v", got, want)
	}
	if d := c.Deadlines(); len(d) != 0 {
		t.Errorf("Deadlines = %v, want none", d)
	}
}

func TestNewManualWaitsForAdvance(t *testing.T) {
	c := NewManual(t0)
	if _, ok := fired(c.After(0)); !ok {
		t.Fatal("After(0) did not fire at once")
	}
	late, early := c.After(2*time.Second), c.After(time.Second)
	if got, want := c.Deadlines(), []time.Time{t0.Add(2 * time.Second), t0.Add(time.Second)}; !slices.Equal(got, want) {
		t.Fatalf("Deadlines = %v, want %v", got, want)
	}
	c.Advance(999 * time.Millisecond)
	if _, ok := fired(early); ok {
		t.Fatal("fired before its deadline")
	}
	c.Advance(500 * time.Millisecond)
	if at, ok := fired(early); !ok || !at.Equal(t0.Add(1499*time.Millisecond)) {
		t.Fatalf("early fired %v at %v, want at the time advanced to", ok, at)
	}
	if _, ok := fired(late); ok || len(c.Deadlines()) != 1 {
		t.Fatal("the later wait fired early")
	}
	c.Advance(time.Second)
	if _, ok := fired(late); !ok || len(c.Deadlines()) != 0 {
		t.Fatal("the later wait did not fire")
	}
	if !c.Now().Equal(t0.Add(2499 * time.Millisecond)) {
		t.Errorf("Now = %v", c.Now())
	}
}
