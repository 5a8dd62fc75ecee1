package transport

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// The policy's decisions at the edges of its random draw: rnd = 0 gives the shortest
// wait, rnd just under 1 the longest.
func TestPolicyWait(t *testing.T) {
	p := DefaultPolicy()
	const top = 0.999999
	tests := []struct {
		name     string
		cls      Class
		attempt  int
		elapsed  time.Duration
		ra       time.Duration
		min, max time.Duration
	}{
		{"first drop within a second", ClassDrop, 1, 0, 0, 0, time.Second},
		{"drops grow by 1.6", ClassDrop, 3, 10 * time.Second, 0, 0, 2560 * time.Millisecond},
		{"drops capped at 5 s in the first minute", ClassDrop, 20, 30 * time.Second, 0, 0, 5 * time.Second},
		{"drops capped at 30 s later", ClassDrop, 20, 2 * time.Minute, 0, 0, 30 * time.Second},
		{"restart spread over 5 s", ClassRestart, 7, 0, 0, 0, 5 * time.Second},
		{"overload capped at 120 s", ClassOverload, 40, time.Hour, 0, 0, 120 * time.Second},
		{"Retry-After is a floor", ClassOverload, 1, 0, 30 * time.Second, 30 * time.Second, 36 * time.Second},
		{"Retry-After clamped to 10 min", ClassOverload, 1, 0, 24 * time.Hour, MaxRetryAfter, MaxRetryAfter * 6 / 5},
		{"Retry-After ignored for a drop", ClassDrop, 1, 0, time.Minute, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo := p.Wait(tt.cls, tt.attempt, tt.elapsed, tt.ra, func() float64 { return 0 })
			hi := p.Wait(tt.cls, tt.attempt, tt.elapsed, tt.ra, func() float64 { return top })
			if lo != tt.min {
				t.Errorf("shortest wait %v, want %v", lo, tt.min)
			}
			if hi > tt.max || hi < tt.max*99/100 {
				t.Errorf("longest wait %v, want just under %v", hi, tt.max)
			}
		})
	}
}

// Full jitter: the waits of a crowd after the same failure spread evenly over the window,
// so they do not return in a wave.
func TestPolicyWaitSpreads(t *testing.T) {
	p := DefaultPolicy()
	r := rand.New(rand.NewPCG(1, 2))
	var buckets [10]int
	const n = 100000
	for range n {
		w := p.Wait(ClassOverload, 30, time.Hour, 0, r.Float64)
		buckets[int(w*10/p.OverloadCap)]++
	}
	for i, b := range buckets {
		if b < n/10*9/10 || b > n/10*11/10 {
			t.Errorf("decile %d holds %d of %d waits, want about %d", i, b, n, n/10)
		}
	}
}

// The Reconnector waits exactly what the policy function says.
func TestReconnectorUsesThePolicy(t *testing.T) {
	r := &Reconnector{Policy: DefaultPolicy(), Rand: func() float64 { return 0.5 }}
	got := r.backoff(ClassOverload, 4, time.Minute, retryAfter(fmt.Errorf("dial: %w", &OverloadError{RetryAfter: 20 * time.Second})))
	want := r.Policy.Wait(ClassOverload, 4, time.Minute, 20*time.Second, func() float64 { return 0.5 })
	if got != want {
		t.Errorf("backoff = %v, Wait = %v", got, want)
	}
}
