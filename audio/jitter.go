package audio

import "time"

// Bounds of the adaptive target delay.
const (
	// MinTargetDelay is the smallest target delay: two frames, enough for FEC to find
	// the next packet when one is lost.
	MinTargetDelay = 40 * time.Millisecond
	// MaxTargetDelay is the largest target delay; jitter beyond it is treated as loss.
	MaxTargetDelay = 400 * time.Millisecond
)

// Tuning of the jitter buffer. Delay errors are measured against the target delay.
const (
	maxBufferedFrames = 100  // 2 s per speaker; bounds memory
	ringSlots         = 128  // > maxBufferedFrames, a power of two
	restartFrames     = 3000 // a sequence 60 s from the playout point starts a new stream
	concealEmpty      = 5    // pops of an empty buffer concealed before the speaker goes idle

	jitterMargin   = 20 * time.Millisecond  // headroom above the measured jitter
	outageJitter   = time.Second            // lateness beyond this is an outage or a replay, not jitter
	baselineCreep  = 20 * time.Microsecond  // per frame: tolerates 1000 ppm of sender clock drift
	targetHold     = 2 * time.Second        // no shrinking this soon after the target grew
	targetDecayTau = 8 * time.Second        // time constant of shrinking when calm
	correctQuiet   = 15 * time.Millisecond  // delay error corrected in a quiet frame
	skipAhead      = 200 * time.Millisecond // delay error cut in one go (after a burst)
	startEarly     = FrameDuration / 2      // start a talkspurt this close to the target
	frameTS64      = int64(FrameSamples)    // timestamp step of a 20 ms packet
	rebaseAfter    = 50                     // consecutive outage-late arrivals that move the baseline
	decayPerFrame  = float64(FrameDuration) / float64(targetDecayTau)
)

// Frame is one packet of a speaker's track. Seq increases by one per packet sent and
// wraps; Timestamp is the room clock in 48 kHz samples and wraps; it jumps ahead, with no
// gap in Seq, where the speaker was silent and sent nothing.
type Frame struct {
	Seq       uint32
	Timestamp uint32
	Payload   []byte
	// Setup is the stream's headers, for a codec whose packets need them
	// (transport.AudioFrame.Setup); nil for others.
	Setup []byte
}

// PlayoutKind says what a Pop wants played.
type PlayoutKind uint8

const (
	// PlayIdle means there is nothing to play: the speaker is silent, or the first frames
	// of a talkspurt are still waiting to reach the target delay.
	PlayIdle PlayoutKind = iota
	// PlayFrame means Playout.Frame is the next packet to decode.
	PlayFrame
	// PlayLost means the next frame is missing: conceal it. Playout.FEC, when not nil, is
	// the following packet, whose in-band FEC may rebuild the missing one.
	PlayLost
	// PlayInsert means play a concealment frame without consuming a sequence number: the
	// buffer is empty or shallower than its target, and waiting deepens it.
	PlayInsert
)

// String names the kind for logs and test failures.
func (k PlayoutKind) String() string {
	switch k {
	case PlayIdle:
		return "idle"
	case PlayFrame:
		return "frame"
	case PlayLost:
		return "lost"
	case PlayInsert:
		return "insert"
	}
	return "unknown"
}

// Playout is the result of one Pop: what to play next.
type Playout struct {
	Kind  PlayoutKind
	Frame Frame  // with PlayFrame
	FEC   []byte // with PlayLost: the next packet, if it is already here
	// Trim, with PlayFrame, says the delay is too long and the speaker was quiet: if
	// Frame decodes quiet too, the caller may call JitterBuffer.Trim to drop it and play
	// the next frame in its place, which shortens the delay by a frame of silence.
	Trim bool
	// Lost counts the sequence numbers this Pop gave up for lost, the concealed one
	// included.
	Lost int
}

// JitterStats are a JitterBuffer's counters since it was made.
type JitterStats struct {
	Received  uint64 // frames pushed
	Played    uint64 // frames handed out with PlayFrame, less those trimmed
	Lost      uint64 // sequence numbers never played: missing or late
	Late      uint64 // frames that arrived after their turn
	Duplicate uint64 // frames pushed twice
	Dropped   uint64 // frames discarded to shorten the delay (drift, bursts, overflow, Trim)
	Inserted  uint64 // concealment frames inserted to deepen the delay
	Restarts  uint64 // sequence jumps taken for a new stream
}

type slot struct {
	used    bool
	seq     uint32
	ts      uint32
	payload []byte
	setup   []byte
}

// JitterBuffer is one speaker's jitter buffer. Push adds frames as they arrive, in any
// order; Pop, called by the playout clock whenever it needs the next packet (every 20 ms
// for packets of 20 ms), says what to play. It reorders, drops duplicates and late
// frames, and keeps the playout delay near an adaptive target that grows at once when
// frames arrive late and shrinks slowly when the network is calm.
// The same delay control corrects the drift between the room's clock and the sound card's,
// and follows the target as it shrinks, only where it cannot be heard: concealment is
// inserted after a quiet frame when the delay is too short, and a quiet frame that follows
// a quiet one is trimmed when it is too long (Playout.Trim). Inside speech nothing is
// inserted or dropped, however far the delay strays; only a backlog of more than
// skipAhead, after a stall, is cut at once.
//
// Delay is measured against the earliest arrival seen: a frame that arrives with the
// least transit time seen waits exactly the target delay before it plays.
//
// A JitterBuffer is not safe for concurrent use; Pipeline guards each with a mutex.
type JitterBuffer struct {
	slots    [ringSlots]slot
	count    int    // frames in slots
	haveNext bool   // next is valid: a frame has been pushed since the start or Reset
	next     uint32 // the sequence number to play next
	newest   uint32 // the highest sequence number buffered or played
	playing  bool   // in a talkspurt: Pop plays, conceals or inserts at every call
	fresh    bool   // nothing played yet: an earlier frame may still come first
	empties  int    // consecutive pops that found the buffer empty while playing
	lastTS   int64  // unwrapped timestamp of the last frame played or concealed
	trimmed  bool   // the last Pop offered a Trim that has not been taken

	// Timing. Timestamps are unwrapped relative to the first frame; transit is the
	// arrival time minus the frame's place on the room clock.
	epoch     time.Time
	refTS     uint32 // the newest timestamp seen, and its unwrapped value
	refTS64   int64
	baseline  time.Duration // the least transit seen, creeping up slowly
	outliers  int           // consecutive arrivals later than outageJitter
	target    time.Duration
	lastRise  time.Time
	delay     time.Duration // the delay of the last frame played or concealed
	haveDelay bool

	// Packet length: the step of a guessed timestamp, and the least target delay, which
	// must cover the next packet's arrival (a stream of 23-60 ms packets would otherwise
	// find the buffer dry whenever one is lost). SetPacket sets them.
	step      int64
	minTarget time.Duration

	stats JitterStats
}

// NewJitterBuffer returns an empty buffer with the minimum target delay.
func NewJitterBuffer() *JitterBuffer {
	return &JitterBuffer{target: MinTargetDelay, step: frameTS64, minTarget: MinTargetDelay}
}

// SetPacket tells the buffer how long the track's packets are (20 ms unless told): a
// guessed timestamp steps by it, and a packet longer than 20 ms raises the least target
// delay to cover the next packet's arrival when one is lost. Such a packet is popped up
// to 20 ms before it plays (the pipeline's carry), so the floor is the packet, 20 ms and
// the jitter margin: 63 ms for AAC's 1024 samples at 48 kHz.
func (b *JitterBuffer) SetPacket(d time.Duration) {
	if d <= 0 {
		return
	}
	b.step = max(int64(d)*SampleRate/int64(time.Second), 1)
	b.minTarget = MinTargetDelay
	if d > FrameDuration {
		b.minTarget = max(MinTargetDelay, d+FrameDuration+jitterMargin)
	}
	b.target = max(b.target, b.minTarget)
}

// Reset forgets every frame and the stream's timing, for a replaced track or a new
// stream epoch. The target delay and the counters are kept: the network has not changed.
func (b *JitterBuffer) Reset() {
	b.slots = [ringSlots]slot{}
	b.count = 0
	b.haveNext = false
	b.playing = false
	b.empties = 0
	b.haveDelay = false
	b.trimmed = false
}

// Target returns the current target delay.
func (b *JitterBuffer) Target() time.Duration { return b.target }

// Delay returns the playout delay of the frame played last, or the target delay when the
// speaker is not playing.
func (b *JitterBuffer) Delay() time.Duration {
	if !b.playing || !b.haveDelay {
		return b.target
	}
	return b.delay
}

// Stats returns the counters.
func (b *JitterBuffer) Stats() JitterStats { return b.stats }

// Buffered returns the number of frames waiting to be played.
func (b *JitterBuffer) Buffered() int { return b.count }

// Push adds a frame that arrived at now. It reports whether the frame was kept: late
// frames, duplicates and frames of a stream far ahead of the window are not.
func (b *JitterBuffer) Push(f Frame, now time.Time) bool {
	b.stats.Received++
	if !b.haveNext {
		b.begin(f, now)
	} else if d := int32(f.Seq - b.next); d <= -restartFrames || d >= restartFrames {
		// Too far from anything we could play: the sender started a new stream.
		b.stats.Restarts++
		b.Reset()
		b.begin(f, now)
	}
	b.observe(f.Timestamp, now)

	d := int32(f.Seq - b.next)
	switch {
	case d < 0:
		if !b.fresh || b.playing || int32(b.newest-f.Seq) >= maxBufferedFrames {
			b.stats.Late++
			return false
		}
		b.next = f.Seq // an earlier frame of the first talkspurt, before playout began
	case d >= maxBufferedFrames:
		b.slide(f.Seq - maxBufferedFrames + 1)
	}
	s := &b.slots[f.Seq%ringSlots]
	if s.used {
		b.stats.Duplicate++
		return false
	}
	*s = slot{used: true, seq: f.Seq, ts: f.Timestamp, payload: f.Payload, setup: f.Setup}
	b.count++
	if int32(f.Seq-b.newest) > 0 {
		b.newest = f.Seq
	}
	return true
}

// begin starts a stream at its first frame.
func (b *JitterBuffer) begin(f Frame, now time.Time) {
	b.haveNext = true
	b.fresh = true
	b.next = f.Seq
	b.newest = f.Seq
	b.epoch = now
	b.refTS = f.Timestamp
	b.refTS64 = 0
	b.baseline = 0
	b.outliers = 0
	b.lastTS = -b.step
}

// slide moves the window forward so that it starts at seq, discarding what falls out.
// A burst of more than the window (a replay after a long outage) keeps its newest 2 s.
func (b *JitterBuffer) slide(seq uint32) {
	for ; int32(seq-b.next) > 0; b.next++ {
		s := &b.slots[b.next%ringSlots]
		if s.used && s.seq == b.next {
			b.lastTS = b.unwrap(s.ts)
			*s = slot{}
			b.count--
			b.stats.Dropped++
		} else {
			b.stats.Lost++
		}
	}
}

// unwrap places a timestamp on the unwrapped timeline; it must be within 2^31 samples
// (12 hours) of the newest one seen.
func (b *JitterBuffer) unwrap(ts uint32) int64 {
	return b.refTS64 + int64(int32(ts-b.refTS))
}

// observe updates the transit baseline and the target delay with an arrival.
func (b *JitterBuffer) observe(ts uint32, now time.Time) {
	u := b.unwrap(ts)
	if u > b.refTS64 {
		b.refTS, b.refTS64 = ts, u
	}
	transit := now.Sub(b.epoch) - samplesToDuration(u)
	switch {
	case transit < b.baseline:
		b.baseline = transit
	case transit-b.baseline > outageJitter:
		// An outage or a replayed backlog says nothing about the jitter to absorb, unless
		// it lasts: then the path itself has changed.
		if b.outliers++; b.outliers < rebaseAfter {
			return
		}
		b.baseline = transit
	default:
		b.baseline += min(transit-b.baseline, baselineCreep)
	}
	b.outliers = 0
	need := min(transit-b.baseline+jitterMargin, MaxTargetDelay)
	if need > b.target {
		b.target = need
		b.lastRise = now
	}
}

// delayAt is how long a frame with unwrapped timestamp u has waited at now, counted from
// when it would have arrived with the least transit seen.
func (b *JitterBuffer) delayAt(u int64, now time.Time) time.Duration {
	return now.Sub(b.epoch) - samplesToDuration(u) - b.baseline
}

// shrink lets the target decay toward the minimum once the network has been calm.
func (b *JitterBuffer) shrink(now time.Time) {
	if b.target <= b.minTarget || now.Sub(b.lastRise) < targetHold {
		return
	}
	b.target -= time.Duration(float64(b.target-b.minTarget) * decayPerFrame)
	b.target = max(b.target, b.minTarget)
}

// take removes and returns the frame with sequence number seq, if it is buffered.
func (b *JitterBuffer) take(seq uint32) (slot, bool) {
	s := &b.slots[seq%ringSlots]
	if !s.used || s.seq != seq {
		return slot{}, false
	}
	out := *s
	*s = slot{}
	b.count--
	return out, true
}

// peek returns the payload of the frame with sequence number seq, if it is buffered.
func (b *JitterBuffer) peek(seq uint32) []byte {
	if s := b.slots[seq%ringSlots]; s.used && s.seq == seq {
		return s.payload
	}
	return nil
}

// Pop says what to play next at now, the time it will start to sound (for a player that
// still has part of the last packet to play, when that part ends). quiet tells whether
// the speaker is quiet at the moment (from the level of the last decoded frame): delay
// corrections are made only then, where they cannot be heard.
func (b *JitterBuffer) Pop(now time.Time, quiet bool) Playout {
	b.trimmed = false
	b.shrink(now)
	if !b.haveNext {
		return Playout{Kind: PlayIdle}
	}
	lost := 0
	if !b.playing {
		// A talkspurt starts once its first frame has waited the target delay.
		first, ok := b.oldestAfter(b.next - 1)
		if !ok || b.delayAt(b.unwrap(first.ts), now) < b.target-startEarly {
			return Playout{Kind: PlayIdle}
		}
		if !b.fresh {
			lost = int(first.seq - b.next)
			b.stats.Lost += uint64(lost)
		}
		b.next = first.seq
		b.playing, b.fresh, b.empties = true, false, 0
	}

	if b.count == 0 {
		b.empties++
		if b.empties > concealEmpty {
			b.playing = false // the talkspurt is over, or the network is down
			return Playout{Kind: PlayIdle, Lost: lost}
		}
		b.stats.Inserted++
		return Playout{Kind: PlayInsert, Lost: lost}
	}
	b.empties = 0

	err := b.delayAt(b.nextTS(), now) - b.target
	trim := false
	switch {
	case err > skipAhead:
		// A burst after a stall: cut the excess in one go rather than frame by frame.
		for err > 0 && b.count > 1 {
			lost += b.drop()
			err = b.delayAt(b.nextTS(), now) - b.target
		}
	case err > correctQuiet && quiet && b.count > 1:
		// Whether the next frame is quiet too is known only once it is decoded.
		trim = true
	case err < -correctQuiet && quiet:
		b.stats.Inserted++
		b.delay = err + b.target
		b.haveDelay = true
		return Playout{Kind: PlayInsert, Lost: lost}
	}
	pl := b.playNext(now, lost)
	b.trimmed = trim && pl.Kind == PlayFrame && b.count > 0
	pl.Trim = b.trimmed
	return pl
}

// Trim drops the frame the last Pop offered with Playout.Trim, which the caller found
// quiet, and says what to play in its place: the frame after it, or its concealment. It
// reports false, and changes nothing, when there is no such offer (another Pop or a Reset
// came between): the caller then plays the frame it has.
func (b *JitterBuffer) Trim(now time.Time) (Playout, bool) {
	if !b.trimmed {
		return Playout{}, false
	}
	b.trimmed = false
	b.stats.Played--
	b.stats.Dropped++
	return b.playNext(now, 0), true
}

// playNext plays the next sequence number: its frame, or its concealment if it is
// missing. lost counts the sequence numbers already given up in this Pop.
func (b *JitterBuffer) playNext(now time.Time, lost int) Playout {
	seq := b.next
	b.next++
	if s, ok := b.take(seq); ok {
		b.lastTS = b.unwrap(s.ts)
		b.setDelay(now)
		b.stats.Played++
		return Playout{Kind: PlayFrame, Frame: Frame{Seq: s.seq, Timestamp: s.ts, Payload: s.payload, Setup: s.setup}, Lost: lost}
	}
	b.lastTS = b.nextTSAfter(seq)
	b.setDelay(now)
	b.stats.Lost++
	return Playout{Kind: PlayLost, FEC: b.peek(b.next), Lost: lost + 1}
}

// setDelay records the delay of the frame just played or concealed.
func (b *JitterBuffer) setDelay(now time.Time) {
	b.delay = b.delayAt(b.lastTS, now)
	b.haveDelay = true
}

// drop discards the next frame, or skips the next sequence number if it is missing, and
// returns how many sequence numbers were lost (0 or 1).
func (b *JitterBuffer) drop() int {
	seq := b.next
	b.next++
	if s, ok := b.take(seq); ok {
		b.lastTS = b.unwrap(s.ts)
		b.stats.Dropped++
		return 0
	}
	b.lastTS = b.nextTSAfter(seq)
	b.stats.Lost++
	return 1
}

// nextTS returns the unwrapped timestamp of the next frame to play: its own if it is
// here, else extrapolated back from the next frame that is.
func (b *JitterBuffer) nextTS() int64 {
	if s := b.slots[b.next%ringSlots]; s.used && s.seq == b.next {
		return b.unwrap(s.ts)
	}
	return b.nextTSAfter(b.next - 1)
}

// nextTSAfter returns the unwrapped timestamp of the frame after seq, which is missing:
// extrapolated back from the next buffered frame, or forward from the last one played.
func (b *JitterBuffer) nextTSAfter(seq uint32) int64 {
	if s, ok := b.oldestAfter(seq); ok {
		return b.unwrap(s.ts) - int64(s.seq-seq-1)*b.step
	}
	return b.lastTS + b.step
}

// oldestAfter returns the lowest buffered sequence number after seq.
func (b *JitterBuffer) oldestAfter(seq uint32) (slot, bool) {
	if b.count == 0 {
		return slot{}, false
	}
	for s := seq + 1; int32(b.newest-s) >= 0; s++ {
		if sl := b.slots[s%ringSlots]; sl.used && sl.seq == s {
			return sl, true
		}
	}
	return slot{}, false
}
