package mumble_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/spacetui/spacetui/internal/mumbletest"
	_ "github.com/spacetui/spacetui/transport/mumble"
	"github.com/spacetui/spacetui/transport/transporttest"
)

// The contract suite against a real murmurd and the demo's three speakers, each a
// Mumble user of its own, with the cues typed into the channel's chat. The server's
// certificate is trusted first, so the suite sees a healthy room's two states only.
func TestContract(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the server and the publisher stop
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	s := mumbletest.StartT(t, mumbletest.Options{})
	mumbletest.PublishT(t, s, "Demo", mumbletest.PublishOptions{Description: "the <b>demo</b> room"})
	trustFirst(t, s.URL("Demo"))
	transporttest.Run(t, transporttest.Room{URL: s.URL("Demo"), Speakers: 3, Within: 60 * time.Second, Chat: true})
}
