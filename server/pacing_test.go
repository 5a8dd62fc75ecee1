package server

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// A pacing server admits at its rate and hands the crowd it refuses a Retry-After
// schedule with no more than that rate a second: the check of the crowd issue, made on
// the schedule the server issued rather than on a measured peak.
func TestAdmitRatePacesTheCrowd(t *testing.T) {
	const rate = 2
	clk := newFakeClock() // time stands still: only the burst is admitted
	ts := startServer(t, Config{Clock: clk, AdmitRate: rate}, nil)
	first := joinRoom(t, ts.addr, DemoRoomID)
	first.next(t) // hello: the burst's one place

	perSecond := map[int]int{}
	const refused = 20
	for range refused {
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
		perSecond[ra]++
	}
	for ra, n := range perSecond {
		if n > rate {
			t.Errorf("%d listeners told to come back in %d s, want at most %d", n, ra, rate)
		}
	}
	if len(perSecond) != refused/rate {
		t.Errorf("%d refusals at %d/s spread over %d seconds, want %d: %v", refused, rate, len(perSecond), refused/rate, perSecond)
	}
	// A second later the bucket has refilled for one more.
	clk.Advance(time.Second)
	second := joinRoom(t, ts.addr, DemoRoomID)
	second.next(t)
}
