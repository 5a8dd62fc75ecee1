package ws_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/spacetui/spacetui/internal/servertest"
	"github.com/spacetui/spacetui/server"
	"github.com/spacetui/spacetui/transport/transporttest"
	"github.com/spacetui/spacetui/transport/wire"
	_ "github.com/spacetui/spacetui/transport/ws"
)

// TestContract runs the transport contract against the reference server's demo room,
// in which Ada and Grace speak within the first ten seconds.
func TestContract(t *testing.T) {
	addr := servertest.Start(t, server.Config{})
	transporttest.Run(t, transporttest.Room{
		URL:      "ws://" + addr + "/rooms/demo",
		Speakers: 2,
		Within:   30 * time.Second,
	})
}

// TestContractHostile runs the contract's hostile room: a server that puts escape
// sequences, bidirectional overrides and over-long text in every string of the
// protocol.
func TestContractHostile(t *testing.T) {
	h := transporttest.Hostile
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		if _, _, err := c.Read(ctx); err != nil { // join
			return
		}
		for _, m := range []any{
			wire.Hello{Version: wire.Version, Session: "s", Epoch: "e", Room: wire.Room{ID: h("demo"), Title: h("Title"), Listeners: 1}},
			wire.Roster{Speakers: []wire.Speaker{{ID: h("ada"), Name: h("Ada"), Role: h("host"), Track: 1}}},
			wire.Transcript{ID: h("c1"), Speaker: h("ada"), Text: h("Hello"), Final: true},
			wire.Gap{FromMs: 1, ToMs: 2, Why: h("why")},
			wire.Ended{Reason: h("over")},
		} {
			b, err := wire.Marshal(m)
			if err != nil {
				t.Error(err)
				return
			}
			if err := c.Write(ctx, websocket.MessageText, b); err != nil {
				return
			}
		}
		_, _, _ = c.Read(ctx) // until the client leaves
	}))
	defer srv.Close()
	transporttest.RunHostile(t, transporttest.HostileRoom{
		URL:    "ws" + strings.TrimPrefix(srv.URL, "http") + "/rooms/demo",
		Want:   []string{"RoomInfo", "Roster", "TranscriptSegment", "Gap", "Ended"},
		Within: 10 * time.Second,
	})
}
