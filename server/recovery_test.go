package server

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/spacetui/spacetui/crowd"
	"github.com/spacetui/spacetui/transport"
)

// The crowd issue's paced recovery, on real sockets: N listeners, each with the real
// reconnector and policy, are dropped at once by a server that then refuses everyone
// for an outage and hands out waiting-room slots at its admission rate C. After it
// recovers, the attempts it sees must stay under 1.2 C a second (after the first
// second) and everyone must be back within (N / C) x 1.5 + the policy's cap. The
// simulator, on the same N, C and outage, must tell the same story within 20%.
//
// Run it with -v to see the figures; docs/crowd.md has a table of them.
func TestPacedRecoveryOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: 1,000 listeners for about 20 s")
	}
	if raceDetector {
		t.Skip("skipping: a rate measured under the race detector measures the detector")
	}
	const (
		n      = 1000
		rate   = 200 // C: N/C = 5 s of queue
		outage = 5 * time.Second
	)
	policy := transport.DefaultPolicy()
	ts := startServer(t, Config{AdmitRate: rate}, nil)

	// The listeners join below the rate, so none starts the outage with a refusal
	// behind it: each meets it as the simulator's listeners do, at its first failure.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	report := make(chan crowd.LoadtestReport, 1)
	go func() {
		rep, err := crowd.RunLoadtest(ctx, crowd.LoadtestConfig{
			URL: "ws://" + ts.addr + "/rooms/" + DemoRoomID, N: n, Policy: policy,
			Ramp: time.Duration(float64(n) / (0.8 * rate) * float64(time.Second)),
		})
		if err != nil {
			t.Errorf("loadtest: %v", err)
		}
		report <- rep
	}()
	waitJoined(t, ts, time.Time{}, n, time.Minute, "the crowd to join")

	ts.SetFaults(Faults{Overload: true, AbruptClose: true})
	time.Sleep(outage)
	recovered := time.Now()
	ts.SetFaults(Faults{})
	bound := time.Duration(float64(n)/rate*1.5*float64(time.Second)) + policy.OverloadCap
	waitJoined(t, ts, recovered, n, bound, "everyone back")
	cancel()
	if rep := <-report; rep.EarlyRetries > 0 {
		t.Errorf("%d attempts came sooner than the Retry-After they were given", rep.EarlyRetries)
	}

	measured := recovery(ts.Attempts(), recovered, n)
	sim := simulatedRecovery(t, n, rate, outage)
	t.Logf("N %d, C %d/s, outage %v; bound on everyone back %v", n, rate, outage, bound)
	t.Logf("real:      %v", measured)
	t.Logf("simulated: %v", sim)
	for _, r := range []struct {
		what string
		recoveryFigures
	}{{"real", measured}, {"simulated", sim}} {
		if r.all > bound {
			t.Errorf("%s: everyone back %v after recovery, want within %v", r.what, r.all, bound)
		}
		if limit := 1.2 * rate; float64(r.peak) >= limit {
			t.Errorf("%s: %d attempts in one second after recovery, want under 1.2 C = %.0f", r.what, r.peak, limit)
		}
	}

	// The curve after recovery is a plateau near C until the queue is through, then a
	// tail. Second by second at 200/s each figure has ±7% of noise of its own, and the
	// tail's few attempts are mostly noise; the plateau's mean rate, its length (90%
	// back) and its peak are the shape, and must agree within 20%.
	within := func(what string, got, want float64) {
		if got < want*0.8 || got > want*1.2 {
			t.Errorf("%s: real %.1f, simulated %.1f: they differ by more than 20%%", what, got, want)
		}
	}
	within("mean attempts/s until 90% back", measured.meanRate(), sim.meanRate())
	within("seconds until 90% back", measured.most.Seconds(), sim.most.Seconds())
	within("peak attempts/s after the first second", float64(measured.peak), float64(sim.peak))
}

// waitJoined waits, up to limit, until n WebSocket joins were accepted since since.
func waitJoined(t *testing.T, ts *testServer, since time.Time, n int, limit time.Duration, what string) {
	t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(100 * time.Millisecond) {
		joined := 0
		for _, at := range ts.Attempts() {
			if at.Accepted && !at.Listen && !at.Time.Before(since) {
				joined++
			}
		}
		if joined >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %d of %d joined", limit, what, joined, n)
		}
	}
}

// recoveryFigures are what a recovery looked like: attempts in each second from it,
// and how long until 90% and all of the crowd were back.
type recoveryFigures struct {
	perSecond []int
	most, all time.Duration
	peak      int // the busiest second but the first
}

func (r recoveryFigures) meanRate() float64 {
	secs := int(r.most/time.Second) + 1
	return float64(sum(r.perSecond[:min(secs, len(r.perSecond))])) / float64(secs)
}

func (r recoveryFigures) String() string {
	return fmt.Sprintf("90%% back %.1f s, all back %.1f s, mean %.0f/s until 90%%, peak %d/s after the first second; attempts a second %v",
		r.most.Seconds(), r.all.Seconds(), r.meanRate(), r.peak, r.perSecond)
}

// recovery reads the figures of the recovery at from off the server's attempt log.
func recovery(log []Attempt, from time.Time, n int) recoveryFigures {
	var r recoveryFigures
	var joins []time.Duration
	for _, at := range log {
		if at.Listen || at.Time.Before(from) {
			continue
		}
		d := at.Time.Sub(from)
		s := int(d / time.Second)
		for len(r.perSecond) <= s {
			r.perSecond = append(r.perSecond, 0)
		}
		r.perSecond[s]++
		if at.Accepted {
			joins = append(joins, d)
		}
	}
	slices.Sort(joins)
	r.most, r.all = joins[n*9/10-1], joins[len(joins)-1]
	r.peak = peakAfterFirst(r.perSecond)
	return r
}

// simulatedRecovery runs the simulator's paced server on the same night: everyone
// dropped at once, refused for outage, then admitted at rate.
func simulatedRecovery(t *testing.T, n int, rate float64, outage time.Duration) recoveryFigures {
	t.Helper()
	night := crowd.Night{Listeners: n, Capacity: rate, Outage: outage, Horizon: time.Minute, Step: 100 * time.Millisecond, Seed: 1}
	var paced []crowd.Policy
	for _, p := range crowd.Policies() {
		if p.Paced {
			paced = append(paced, p)
		}
	}
	res, err := crowd.Simulate(context.Background(), night, paced)
	if err != nil {
		t.Fatal(err)
	}
	r := recoveryFigures{most: res[0].Back[1], all: res[0].Back[3]}
	for _, a := range res[0].AttemptsPerSecond[int(outage/time.Second):] {
		r.perSecond = append(r.perSecond, int(a))
	}
	r.peak = peakAfterFirst(r.perSecond)
	return r
}

func peakAfterFirst(perSecond []int) int {
	if len(perSecond) < 2 {
		return 0
	}
	return slices.Max(perSecond[1:])
}

func sum(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}
