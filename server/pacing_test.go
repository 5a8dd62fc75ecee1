package server

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// A pacing server admits at its rate and hands the crowd it refuses the Retry-After
// schedule of a waiting room at that rate (whose spread transport's tests check): the
// check of the crowd issue, made on the schedule the server issued rather than on a
// measured peak.
func TestAdmitRatePacesTheCrowd(t *testing.T) {
	const rate = 2
	clk := newFakeClock() // time stands still: only the burst is admitted
	ts := startServer(t, Config{Clock: clk, AdmitRate: rate}, nil)
	first := joinRoom(t, ts.addr, DemoRoomID)
	first.next(t) // hello: the burst's one place

	room := transport.NewWaitingRoom(rate)
	const refused = 20
	last := 0
	for i := range refused {
		c, resp, err := dialRoom(t, ts.addr, DemoRoomID)
		if err == nil {
			c.CloseNow()
			t.Fatal("a join beyond the admission rate was let in")
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("refusal: %v %+v, want 503", err, resp)
		}
		ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil {
			t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
		if want := int(room.RetryAfter(clk.Now()) / time.Second); ra != want || ra < last {
			t.Errorf("refusal %d: Retry-After %d s after %d s, want the waiting room's %d s", i, ra, last, want)
		}
		last = ra
	}
	if last < refused/rate {
		t.Errorf("%d refusals at %d/s told to come back within %d s", refused, rate, last)
	}
	// A second later the bucket has refilled for one more.
	clk.Advance(time.Second)
	second := joinRoom(t, ts.addr, DemoRoomID)
	second.next(t)
}
