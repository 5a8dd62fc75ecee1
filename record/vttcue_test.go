package record

import (
	"testing"
	"time"
)

func TestVTTCue(t *testing.T) {
	got := string(VTTCue("s1", 61*time.Second+500*time.Millisecond, time.Hour+2*time.Second, "Ada <host>", "a < b"))
	want := "\ns1\n00:01:01.500 --> 01:00:02.000\n<v Ada &lt;host&gt;>a &lt; b\n"
	if got != want {
		t.Errorf("VTTCue = %q, want %q", got, want)
	}
}
