package jsonl

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/transport"
)

func TestJSONEvents(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	started := now.Add(-time.Hour)
	tests := []struct {
		ev   transport.Event
		want string // "" means no line
	}{
		{transport.RoomInfo{ID: "demo", Title: "T", Started: started, Listeners: 3},
			`{"id":"demo","listeners":3,"started":"2026-11-27T11:00:00Z","time":"2026-11-27T12:00:00Z","title":"T","type":"room"}`},
		{transport.RoomInfo{ID: "show", Title: "T", Listeners: 1, BehindLive: 6 * time.Second},
			`{"behind_live":6,"id":"show","listeners":1,"time":"2026-11-27T12:00:00Z","title":"T","type":"room"}`},
		{transport.Roster{Speakers: []transport.Speaker{{ID: "ada", Name: "Ada", Role: "host"}}},
			`{"speakers":[{"id":"ada","muted":false,"name":"Ada","role":"host"}],"time":"2026-11-27T12:00:00Z","type":"roster"}`},
		{transport.TranscriptSegment{ID: "c1", Speaker: "ada", Start: 1500 * time.Millisecond, End: 3 * time.Second, Text: "hi", Final: true},
			`{"end":3,"final":true,"id":"c1","speaker":"ada","start":1.5,"text":"hi","time":"2026-11-27T12:00:00Z","type":"transcript"}`},
		{transport.TranscriptSegment{ID: "m1", Speaker: "ada", Start: 2 * time.Second, End: 2 * time.Second, Text: "hello all", Final: true, Chat: true},
			`{"chat":true,"end":2,"final":true,"id":"m1","speaker":"ada","start":2,"text":"hello all","time":"2026-11-27T12:00:00Z","type":"transcript"}`},
		{transport.State{State: transport.StateReconnecting, Reason: transport.ReasonOverloaded, Attempt: 3, RetryIn: 7 * time.Second},
			`{"attempt":3,"reason":"overloaded","retry_in_ms":7000,"state":"reconnecting","time":"2026-11-27T12:00:00Z","type":"state"}`},
		{transport.State{State: transport.StateLive}, `{"state":"live","time":"2026-11-27T12:00:00Z","type":"state"}`},
		{transport.Clean(transport.State{State: transport.StateEnded, Reason: transport.ReasonNotFound, Detail: "room \x1b[2Jnot found"}),
			`{"detail":"room not found","reason":"not_found","state":"ended","time":"2026-11-27T12:00:00Z","type":"state"}`},
		{transport.Gap{From: now.Add(-12400 * time.Millisecond), To: now, Why: "outage"},
			`{"from":"2026-11-27T11:59:47.6Z","seconds":12.4,"time":"2026-11-27T12:00:00Z","to":"2026-11-27T12:00:00Z","type":"gap","why":"outage"}`},
		{transport.AudioFrame{Speaker: "ada", Payload: []byte{1}}, ""},
		{transport.Ended{Reason: "bye"}, ""},
	}
	for _, tt := range tests {
		var b strings.Builder
		w := NewWriter(&b, func() time.Time { return now })
		if err := w.Event(tt.ev); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSuffix(b.String(), "\n"); got != tt.want {
			t.Errorf("%T:\n got %s\nwant %s", tt.ev, got, tt.want)
		}
		if tt.want != "" && !json.Valid([]byte(b.String())) {
			t.Errorf("invalid JSON: %s", b.String())
		}
	}
}

// A coalesced line is the last event's fields plus count, first and last, and leaves
// the fields it was made from as they were.
func TestCoalesced(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	f := GapFields(now.Add(-3*time.Second), now.Add(-1*time.Second), "discontinuity")
	c := Coalesced(f, 3, now.Add(-4*time.Second), now.Add(-time.Second))
	c["seconds"] = Seconds(2500 * time.Millisecond)
	b, err := Line("gap", now, c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"count":3,"first":"2026-11-27T11:59:56Z","from":"2026-11-27T11:59:57Z","last":"2026-11-27T11:59:59Z",` +
		`"seconds":2.5,"time":"2026-11-27T12:00:00Z","to":"2026-11-27T11:59:59Z","type":"gap","why":"discontinuity"}` + "\n"
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if _, ok := f["count"]; ok || f["seconds"] != 2.0 {
		t.Errorf("Coalesced modified its fields: %v", f)
	}
}
