package crowd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// Night is one simulated night: N listeners connected to a room whose server collapses at
// OutageAt for Outage, then recovers. It is simulated on a virtual clock in steps of Step,
// with no goroutine or socket per listener, so millions fit in memory.
type Night struct {
	// Listeners is N, every one of them connected when the night starts.
	Listeners int
	// Capacity is how many joins a second the server can admit (C).
	Capacity float64
	// OutageAt is when the server collapses: every listener is dropped at once.
	OutageAt time.Duration
	// Outage is how long the server stays overloaded: it then holds at most
	// HeldFraction of the listeners, and refuses the rest.
	Outage       time.Duration
	HeldFraction float64
	// RefusalCost is what answering a refused attempt costs the server, as a fraction of
	// one admission: refusals eat into the capacity left for admissions.
	RefusalCost float64
	// Horizon ends the simulation this long after the outage if not everyone is back.
	Horizon time.Duration
	// Step is the virtual clock's resolution.
	Step time.Duration
	// Seed makes a run repeatable.
	Seed uint64
}

// SeedNight is the night this project was born from: 1.3 million listeners, a server
// that admits 20,000 joins a second, and 45 minutes of overload during which it holds a
// tenth of them and every refusal costs a tenth of an admission.
func SeedNight() Night {
	return Night{
		Listeners:    1_300_000,
		Capacity:     20_000,
		OutageAt:     time.Minute,
		Outage:       45 * time.Minute,
		HeldFraction: 0.1,
		RefusalCost:  0.1,
		Horizon:      2 * time.Hour,
		Step:         100 * time.Millisecond,
		Seed:         1,
	}
}

// Policy is a client's retry policy as the simulator runs it: after failed attempt n
// (from 1) of an outage that has lasted elapsed, whose answer carried retryAfter (0 for
// none), wait this long, or give up.
type Policy struct {
	Name string
	Next func(n int, elapsed, retryAfter time.Duration, rnd func() float64) (wait time.Duration, giveUp bool)
	// Paced says the server hands each refused listener a waiting-room slot as its
	// Retry-After (transport.WaitingRoom); otherwise it answers without one.
	Paced bool
}

// Policies are the policies compared on the same night: ours (the very function the
// Reconnector calls), a fixed 10 s retry (what X Space recorders in the wild do),
// LiveKit's Go SDK (n² x 300 ms, no jitter, 10 tries), exponential backoff without
// jitter, and ours against a server that paces the crowd.
func Policies() []Policy {
	p := transport.DefaultPolicy()
	ours := func(n int, elapsed, ra time.Duration, rnd func() float64) (time.Duration, bool) {
		cls := transport.ClassOverload
		if n == 1 {
			cls = transport.ClassDrop // the collapse itself is a drop; refusals follow
		}
		return p.Wait(cls, n, elapsed, ra, rnd), false
	}
	return []Policy{
		{Name: "spacetui", Next: ours},
		{Name: "fixed 10 s", Next: func(int, time.Duration, time.Duration, func() float64) (time.Duration, bool) {
			return 10 * time.Second, false
		}},
		{Name: "livekit sdk", Next: func(n int, _, _ time.Duration, _ func() float64) (time.Duration, bool) {
			return time.Duration(n*n) * 300 * time.Millisecond, n >= 10
		}},
		{Name: "exp no jitter", Next: func(n int, _, _ time.Duration, _ func() float64) (time.Duration, bool) {
			d := float64(p.Base) * math.Pow(p.Factor, float64(n-1))
			return time.Duration(min(d, float64(p.OverloadCap))), false
		}},
		{Name: "spacetui + paced server", Next: ours, Paced: true},
	}
}

// Result is what one policy did on the night.
type Result struct {
	Policy string `json:"policy"`
	// PeakAttempts and MeanAttempts are attempts per second, from the outage until
	// everyone is back (or the horizon), against the server's capacity.
	PeakAttempts float64 `json:"peak_attempts_per_s"`
	MeanAttempts float64 `json:"mean_attempts_per_s"`
	// PeakAfterRecovery is the peak of attempts per second once capacity returned: the
	// wave the returning crowd makes.
	PeakAfterRecovery float64 `json:"peak_attempts_per_s_after_recovery"`
	// Back are the times, after capacity returned, until 50, 90, 99 and 100% of the
	// listeners were connected again; -1 when that never happened.
	Back [4]time.Duration `json:"back_after_recovery_ns"`
	// AttemptsPerListener is the spread of attempts each listener made.
	AttemptsPerListener Spread `json:"attempts_per_listener"`
	GaveUp              int    `json:"gave_up"`
	Attempts            int64  `json:"attempts"`
	Wasted              int64  `json:"wasted_attempts"`
	// AttemptsPerSecond and AdmittedPerSecond are the curves, one value a second from
	// the start of the night.
	AttemptsPerSecond []float64 `json:"attempts_per_second"`
	AdmittedPerSecond []float64 `json:"admitted_per_second"`
}

// Simulate runs the night for every policy, in parallel, and returns their results in
// the order given.
func Simulate(ctx context.Context, n Night, policies []Policy) ([]Result, error) {
	if n.Listeners <= 0 || n.Capacity <= 0 || n.Step <= 0 || n.Horizon <= 0 || n.Outage < 0 || n.OutageAt < 0 {
		return nil, errors.New("simulate: listeners, capacity, step and horizon must be positive")
	}
	if n.Listeners > math.MaxInt32 {
		return nil, fmt.Errorf("simulate: at most %d listeners", math.MaxInt32)
	}
	out := make([]Result, len(policies))
	errs := make([]error, len(policies))
	var wg sync.WaitGroup
	for i, p := range policies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = simulate(ctx, n, p)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// simulate is one policy's night. Listeners waiting to retry sit in a calendar queue of
// one bucket per step; a step takes its bucket's attempts in order against the server's
// budget for that step.
func simulate(ctx context.Context, n Night, p Policy) (Result, error) {
	rng := rand.New(rand.NewPCG(n.Seed, uint64(len(p.Name))))
	rnd := rng.Float64
	end := n.OutageAt + n.Outage + n.Horizon
	steps := int(end / n.Step)
	recovery := int((n.OutageAt + n.Outage) / n.Step)
	perSecond := int(time.Second / n.Step)
	buckets := make([][]int32, steps+1)
	made := make([]uint32, n.Listeners) // attempts since the collapse
	res := Result{Policy: p.Name, Back: [4]time.Duration{-1, -1, -1, -1}}
	secs := steps/perSecond + 1
	res.AttemptsPerSecond = make([]float64, secs)
	res.AdmittedPerSecond = make([]float64, secs)

	// The collapse drops everyone: each makes its first wait as after a drop.
	outageStep := int(n.OutageAt / n.Step)
	schedule := func(id int32, now int, wait time.Duration) {
		at := now + max(int(wait/n.Step), 1)
		if at <= steps {
			buckets[at] = append(buckets[at], id)
		}
	}
	for id := range int32(n.Listeners) {
		w, _ := p.Next(1, 0, 0, rnd)
		schedule(id, outageStep, w)
	}
	var (
		held       = 0
		connected  = 0
		limit      = int(float64(n.Listeners) * n.HeldFraction)
		burst      = transport.AdmitBurst(n.Capacity)
		budget     = burst
		room       = transport.NewWaitingRoom(n.Capacity) // the paced server's
		epoch      = time.Unix(0, 0)                      // the virtual clock's zero
		targets    = [4]int{n.Listeners / 2, n.Listeners * 9 / 10, n.Listeners * 99 / 100, n.Listeners}
		reached    = 0
		lastActive = outageStep
	)
	for s := outageStep + 1; s <= steps; s++ {
		if s%1000 == 0 && ctx.Err() != nil {
			return res, ctx.Err()
		}
		if s == recovery {
			limit = n.Listeners
		}
		// The server admits as a token bucket does (the reference server's): what a step
		// left unused carries over, up to the burst, and refusals spend it but leave no
		// debt. Without the carry-over a step refused what the real server admits.
		budget = min(max(budget, 0), burst) + n.Capacity*n.Step.Seconds()
		now := time.Duration(s) * n.Step
		sec := s / perSecond
		for _, id := range buckets[s] {
			res.Attempts++
			made[id]++
			res.AttemptsPerSecond[sec]++
			if budget >= 1 && held < limit {
				budget--
				held++
				connected++
				res.AdmittedPerSecond[sec]++
				continue
			}
			budget -= n.RefusalCost
			res.Wasted++
			var ra time.Duration
			if p.Paced {
				ra = room.RetryAfter(epoch.Add(now))
			}
			// The collapse was failure 1; this refusal is failure made+1.
			w, giveUp := p.Next(int(made[id])+1, now-n.OutageAt, ra, rnd)
			if giveUp {
				res.GaveUp++
				continue
			}
			schedule(id, s, w)
		}
		if len(buckets[s]) > 0 {
			lastActive = s
		}
		buckets[s] = nil // done with it: memory follows the waiting crowd, not the night
		for reached < len(targets) && connected >= targets[reached] && s >= recovery {
			res.Back[reached] = now - n.OutageAt - n.Outage
			reached++
		}
		if connected+res.GaveUp == n.Listeners && s >= recovery {
			break
		}
	}
	last := lastActive/perSecond + 1
	res.AttemptsPerSecond = res.AttemptsPerSecond[:last]
	res.AdmittedPerSecond = res.AdmittedPerSecond[:last]
	from := outageStep / perSecond
	res.PeakAttempts = slices.Max(res.AttemptsPerSecond[from:])
	if r := recovery / perSecond; r < last {
		res.PeakAfterRecovery = slices.Max(res.AttemptsPerSecond[r:])
	}
	res.MeanAttempts = float64(res.Attempts) / float64(max(last-from, 1))
	per := make([]int64, n.Listeners)
	for i, m := range made {
		per[i] = int64(m)
	}
	res.AttemptsPerListener = spread(per)
	return res, nil
}
