package server

import (
	"sync"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// pacer is the server's admission control when it paces the crowd (Config.AdmitRate):
// a token bucket admits at most the rate a second, with a tenth of a second's burst, and
// every listener refused for load is given a waiting-room slot at that rate as its
// Retry-After, so a crowd that respects Retry-After returns at the rate the server can
// admit instead of in waves (docs/crowd.md).
type pacer struct {
	clock Clock
	room  *transport.WaitingRoom

	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newPacer(rate float64, clock Clock) *pacer {
	burst := transport.AdmitBurst(rate)
	return &pacer{clock: clock, room: transport.NewWaitingRoom(rate), rate: rate, burst: burst, tokens: burst, last: clock.Now()}
}

// take admits one join if the rate allows it now.
func (p *pacer) take() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	p.tokens = min(p.burst, p.tokens+now.Sub(p.last).Seconds()*p.rate)
	p.last = now
	if p.tokens < 1 {
		return false
	}
	p.tokens--
	return true
}

// retryAfter is the Retry-After, in seconds, of a listener refused for load: its
// waiting-room slot.
func (p *pacer) retryAfter() int {
	return int(p.room.RetryAfter(p.clock.Now()) / time.Second)
}
