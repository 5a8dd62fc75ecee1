package statusbar

import (
	"strings"
	"testing"

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
