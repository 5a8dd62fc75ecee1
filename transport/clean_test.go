package transport

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	in := Roster{Speakers: []Speaker{{ID: "a\x1b[31m", Name: strings.Repeat("n", 100), Role: "\u202ehost"}}}
	got := Clean(in).(Roster)
	if s := got.Speakers[0]; s.ID != "a" || len([]rune(s.Name)) != MaxNameRunes || s.Role != "host" {
		t.Errorf("Clean = %+v", s)
	}
	if in.Speakers[0].ID != "a\x1b[31m" {
		t.Error("Clean modified the roster it was given")
	}
	seg := Clean(TranscriptSegment{Text: strings.Repeat("w ", 400)}).(TranscriptSegment)
	if n := len([]rune(seg.Text)); n != MaxTextRunes {
		t.Errorf("transcript text of %d runes, want %d", n, MaxTextRunes)
	}
	st := Clean(State{State: StateEnded, Detail: "\x1b]0;x\x07" + strings.Repeat("d", 300)}).(State)
	if n := len([]rune(st.Detail)); n != MaxDetailRunes || strings.ContainsRune(st.Detail, 0x1b) {
		t.Errorf("detail %q", st.Detail)
	}
}

// A State the Reconnector makes quotes the refusal, whose words may be the server's:
// it arrives clean like every protocol's events.
func TestReconnectorStatesAreClean(t *testing.T) {
	r := &Reconnector{URL: "test://h/r", Policy: DefaultPolicy(), Clock: SystemClock{},
		Dialer: DialerFunc(func(context.Context, *url.URL, DialOptions) (Conn, error) {
			return nil, errors.Join(errors.New("the server says \x1b[2J\u202eno"), ErrUnauthorized)
		})}
	var last State
	_ = r.Run(context.Background(), func(ev Event) {
		if s, ok := ev.(State); ok {
			last = s
		}
	})
	if last.State != StateEnded || last.Detail != Clean(last).(State).Detail || strings.ContainsAny(last.Detail, "\x1b\u202e\n") {
		t.Errorf("state %+v", last)
	}
}
