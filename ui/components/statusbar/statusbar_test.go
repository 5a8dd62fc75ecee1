package statusbar

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/charmbracelet/x/ansi"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/ui/common"
	"github.com/spacetui/spacetui/ui/styles"
)

// A room joined with nobody publishing says so beside "live", so a mistyped room does
// not pass for a quiet one.
func TestLiveWithNobodyPublishing(t *testing.T) {
	m := New(common.Common{Styles: styles.New(true), Speakers: common.NewDirectory()})
	m.SetSize(120, 1)
	m.SetConn(Conn{State: transport.StateLive, Reason: transport.ReasonNoSpeakers, Detail: "nobody is publishing in this room yet"})
	if v := ansi.Strip(m.View()); !strings.Contains(v, "● live · nobody is publishing in this room yet") {
		t.Errorf("status line %q", v)
	}
	m.SetConn(Conn{State: transport.StateLive})
	if v := m.View(); strings.Contains(v, "nobody") {
		t.Errorf("a room with speakers still says nobody publishes: %q", v)
	}
	// A join with an unchecked certificate (mumble --insecure) says so.
	m.SetConn(Conn{State: transport.StateLive, Detail: "the server's certificate is not checked (--insecure)"})
	if v := ansi.Strip(m.View()); !strings.Contains(v, "● live · the server's certificate is not checked") {
		t.Errorf("status line %q", v)
	}
}

// A server that paces its crowd gave a Retry-After: the line says our turn, not a
// retry, in seconds under a minute and minutes after, and is drawn again only when the
// words change.
func TestQueuedSaysOurTurn(t *testing.T) {
	m := New(common.Common{Styles: styles.New(true), Speakers: common.NewDirectory()})
	m.SetSize(120, 1)
	queued := func(left time.Duration, confirm bool) Conn {
		return Conn{State: transport.StateReconnecting, Reason: transport.ReasonOverloaded, Attempt: 3,
			RetryIn: left, CanRetry: true, Queued: true, ConfirmRetry: confirm}
	}
	tests := []struct {
		name string
		conn Conn
		want string
	}{
		{"seconds", queued(39100*time.Millisecond, false), "◌ server busy · your turn in ~40 s · r retry now"},
		{"minutes", queued(150*time.Second, false), "◌ server busy · your turn in ~3 min · r retry now"},
		{"a first r", queued(39*time.Second, true), "◌ server busy · your turn in ~39 s · r again gives up your turn"},
		{"the turn came", queued(0, false), "◌ server busy · retrying (attempt 3) · r retry now"},
		{"an overload without a place", Conn{State: transport.StateReconnecting, Reason: transport.ReasonOverloaded, Attempt: 3, RetryIn: 7 * time.Second, CanRetry: true},
			"◌ server overloaded · retry in 7 s (attempt 3) · r retry now"},
	}
	for _, tt := range tests {
		m.SetConn(tt.conn)
		if v := ansi.Strip(m.View()); !strings.HasPrefix(v, " "+tt.want+" ") {
			t.Errorf("%s: status line %q, want %q", tt.name, v, tt.want)
		}
	}
	m.SetConn(queued(100*time.Second, false))
	before := m.View()
	m.SetConn(queued(99*time.Second, false)) // still "~2 min"
	if after := m.View(); unsafe.StringData(after) != unsafe.StringData(before) {
		t.Errorf("the line was drawn again though it still says %q", ansi.Strip(after))
	}
}
