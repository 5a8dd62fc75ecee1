package server

import (
	"sync/atomic"
	"time"
)

// How a room spaces its listeners' writes when the machine cannot keep up.
const (
	// maxRoundTicks bounds the ticks a round may gather: a listener pays up to 80 ms of
	// latency for a fifth of the wake-ups and system calls. Three ticks held 5,000
	// listeners on the 2-core development machine, five 6,000 (docs/benchmarks.md).
	maxRoundTicks = 5
	// roundListeners is the fewest listeners for which a room widens its rounds: below,
	// the wake-ups it would save are not worth any latency, and a small room on a busy
	// machine keeps writing every tick.
	roundListeners = 1000
	// roundsJudged is how many ticks the room's lateness is averaged over before it
	// decides to widen or narrow its rounds.
	roundsJudged = 50
	// lateWiden is the mean lateness of the room's ticks past which it widens its rounds;
	// lateCalm the one under which it may narrow them again, after calmFor.
	lateWiden = 4 * time.Millisecond
	lateCalm  = time.Millisecond
	calmFor   = 10 * time.Second
)

// rounds paces the listeners' writers. The room queues every message for every listener
// at once; while the machine keeps up, each writer wakes for each message (a round of
// one tick). When the room's own ticks start late, the machine is short of CPU: then
// the room closes a round only every few ticks, and each writer wakes once a round and
// writes what it gathered in one system call. Fewer wake-ups and system calls on both
// ends of every connection cost each listener up to maxRoundTicks-1 ticks of latency,
// where the alternative is skipping ticks, which costs everyone the audio itself.
//
// The room's run goroutine owns ticks and the lateness figures; writers read only the
// channel of the current round.
type rounds struct {
	// current is closed when the round ends; nil while rounds are one tick long,
	// when writers wait on their queues instead.
	current atomic.Pointer[chan struct{}]

	ticks   int64         // ticks a round lasts, 1 to maxRoundTicks
	late    time.Duration // summed lateness of the ticks judged so far
	judged  int
	calmRun time.Duration // how long the room has been calm at this width
}

// wait returns the channel that closes at the end of the current round, or nil when
// every tick is a round.
func (rs *rounds) wait() <-chan struct{} {
	if ch := rs.current.Load(); ch != nil {
		return *ch
	}
	return nil
}

// tick notes that tick n, sent to listeners, started late by late (0 when on time) and
// ends the round when n closes one. It returns the new width of the rounds when it
// changed, else 0.
func (rs *rounds) tick(n int64, late time.Duration, listeners int) (width int64) {
	rs.late += late
	if rs.judged++; rs.judged == roundsJudged {
		mean := rs.late / roundsJudged
		rs.late, rs.judged = 0, 0
		switch {
		case listeners < roundListeners:
			if rs.ticks > 1 {
				width = rs.set(1)
			}
		case mean > lateWiden && rs.ticks < maxRoundTicks:
			width = rs.set(rs.ticks + 1)
		case mean < lateCalm && rs.ticks > 1:
			if rs.calmRun += roundsJudged * tick; rs.calmRun >= calmFor {
				width = rs.set(rs.ticks - 1)
			}
		default:
			rs.calmRun = 0
		}
	}
	if rs.ticks > 1 && n%rs.ticks == 0 {
		rs.next()
	}
	return width
}

// reset starts a room's run with rounds of one tick.
func (rs *rounds) reset() {
	rs.set(1)
	rs.late, rs.judged = 0, 0
}

// set changes the width of the rounds to k ticks.
func (rs *rounds) set(k int64) int64 {
	rs.ticks, rs.calmRun = k, 0
	if k == 1 {
		rs.end(nil)
	} else if rs.current.Load() == nil {
		rs.next()
	}
	return k
}

// next ends the current round, if any, and starts the next one.
func (rs *rounds) next() {
	ch := make(chan struct{})
	rs.end(&ch)
}

// end ends the current round, waking every writer that waits for it, and makes next
// the current one (nil: every tick is a round from now on).
func (rs *rounds) end(next *chan struct{}) {
	if old := rs.current.Swap(next); old != nil {
		close(*old)
	}
}
