package headless

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/transport"
)

func TestStateLine(t *testing.T) {
	tests := []struct {
		s    transport.State
		want string
	}{
		{transport.State{State: transport.StateLive}, "live"},
		{transport.State{State: transport.StateLive, Reason: transport.ReasonNoSpeakers, Detail: "nobody is publishing in this room yet"},
			"live · nobody is publishing in this room yet"},
		{transport.State{State: transport.StateReconnecting, Reason: transport.ReasonOverloaded, Attempt: 3, RetryIn: 7 * time.Second},
			"server overloaded · retry in 7s (attempt 3)"},
		// A server that paces its crowd keeps us a place: the wait is our turn.
		{transport.State{State: transport.StateReconnecting, Reason: transport.ReasonOverloaded, Attempt: 2, RetryIn: 41300 * time.Millisecond, RetryAfter: 40 * time.Second},
			"server busy · your turn in ~42 s (attempt 2)"},
		{transport.State{State: transport.StateReconnecting, Reason: transport.ReasonOverloaded, Attempt: 2, RetryIn: 200 * time.Second, RetryAfter: 180 * time.Second},
			"server busy · your turn in ~3 min (attempt 2)"},
		{transport.State{State: transport.StateReconnecting, Reason: transport.ReasonDropped, Attempt: 1, RetryIn: 420 * time.Millisecond},
			"connection lost · retry in 400ms (attempt 1)"},
		{transport.State{State: transport.StateReconnecting, Reason: transport.ReasonDropped, Attempt: 1},
			"connection lost · retrying (attempt 1)"}, // a protocol's own resume: no wait
		{transport.State{State: transport.StateEnded, Reason: transport.ReasonNotFound, Detail: "room not found"},
			"ended · not_found: room not found"},
	}
	for _, tt := range tests {
		if got := stateLine(tt.s); got != tt.want {
			t.Errorf("stateLine(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestTextRoster(t *testing.T) {
	var b strings.Builder
	o := &textOutput{w: &b, progress: io.Discard, now: time.Now, names: map[string]string{}}
	o.event(transport.Roster{Speakers: []transport.Speaker{{ID: "ada", Name: "Ada", Role: "host"}, {ID: "linus", Name: "Linus", Muted: true}}})
	o.event(transport.Roster{Speakers: []transport.Speaker{}})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "speakers: Ada (host), Linus [muted]") || !strings.HasSuffix(lines[1], "speakers: none yet") {
		t.Fatalf("got:\n%s", b.String())
	}
}
