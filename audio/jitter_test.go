package audio

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/fakeclock"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// arrival is one frame pushed at a time in ms after t0.
type arrival struct {
	at  float64
	seq uint32
	ts  uint32
}

// playout runs arrivals against pops at popAt(k) for k in [0, pops), with the speaker
// always quiet, and renders what was played: "." idle, "I" insert, "L" lost ("L+" with
// FEC), or the frame's sequence number.
func playout(b *JitterBuffer, arrivals []arrival, pops int, popAt func(k int) float64) string {
	sort.SliceStable(arrivals, func(i, j int) bool { return arrivals[i].at < arrivals[j].at })
	var out []string
	i := 0
	for k := 0; k < pops; k++ {
		now := popAt(k)
		for ; i < len(arrivals) && arrivals[i].at <= now; i++ {
			a := arrivals[i]
			b.Push(Frame{Seq: a.seq, Timestamp: a.ts, Payload: []byte{byte(a.seq)}}, t0.Add(ms(a.at)))
		}
		p := b.Pop(t0.Add(ms(now)), true)
		switch p.Kind {
		case PlayIdle:
			out = append(out, ".")
		case PlayInsert:
			out = append(out, "I")
		case PlayLost:
			if p.FEC != nil {
				out = append(out, "L+")
			} else {
				out = append(out, "L")
			}
		case PlayFrame:
			out = append(out, strconv.FormatUint(uint64(p.Frame.Seq), 10))
		}
	}
	return strings.Join(out, " ")
}

// stream makes frames first..first+n-1 sent every 20 ms from t=0, with extra lateness
// per frame index and the frames in skip left out.
func stream(first uint32, n int, late map[int]float64, skip ...int) []arrival {
	var as []arrival
	for i := 0; i < n; i++ {
		if contains(skip, i) {
			continue
		}
		as = append(as, arrival{at: float64(i)*20 + late[i], seq: first + uint32(i), ts: uint32(i) * FrameSamples})
	}
	return as
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func every20(k int) float64 { return float64(k)*20 + 1 }

func TestJitterBufferPlayout(t *testing.T) {
	const wrapStart = math.MaxUint32 - 2
	tests := []struct {
		name     string
		arrivals []arrival
		pops     int
		want     string
		check    func(t *testing.T, st JitterStats)
	}{
		{
			name:     "in order, then the talkspurt ends",
			arrivals: stream(10, 5, nil),
			pops:     14,
			// Frame 10 arrives at 0 ms and starts at 41 ms, 40 ms later; after the last
			// frame five concealment frames are inserted, then the speaker goes idle.
			want: ". . 10 11 12 13 14 I I I I I . .",
		},
		{
			name:     "reordered frames are put back in order",
			arrivals: stream(0, 6, map[int]float64{2: 25, 3: 2}),
			pops:     8,
			want:     ". . 0 1 2 3 4 5",
		},
		{
			name:     "a duplicate plays once",
			arrivals: append(stream(0, 5, nil), arrival{at: 50, seq: 2, ts: 2 * FrameSamples}),
			pops:     7,
			want:     ". . 0 1 2 3 4",
			check: func(t *testing.T, st JitterStats) {
				if st.Duplicate != 1 {
					t.Errorf("Duplicate = %d, want 1", st.Duplicate)
				}
			},
		},
		{
			name:     "a lost frame is concealed with the next one's FEC",
			arrivals: stream(0, 6, nil, 3),
			pops:     8,
			want:     ". . 0 1 2 L+ 4 5",
			check: func(t *testing.T, st JitterStats) {
				if st.Lost != 1 || st.Played != 5 {
					t.Errorf("Lost, Played = %d, %d, want 1, 5", st.Lost, st.Played)
				}
			},
		},
		{
			name:     "a late frame is concealed, then dropped when it comes",
			arrivals: stream(0, 14, map[int]float64{4: 200}),
			pops:     16,
			// Frame 4 arrives 200 ms late: the target grows to cover such lateness, and
			// the buffer deepens by inserting concealment.
			want: ". . 0 1 2 3 L+ 5 6 7 8 9 10 11 I I",
			check: func(t *testing.T, st JitterStats) {
				if st.Late != 1 || st.Lost != 1 {
					t.Errorf("Late, Lost = %d, %d, want 1, 1", st.Late, st.Lost)
				}
			},
		},
		{
			name:     "the sequence wraps",
			arrivals: stream(wrapStart, 6, map[int]float64{3: 30}),
			pops:     8,
			want:     ". . 4294967293 4294967294 4294967295 0 1 2",
		},
		{
			// The speaker pauses after frame 2: the sequence goes on without a gap, the
			// timestamp jumps by 200 ms. Nothing is lost; the next talkspurt starts 40 ms
			// after its first frame.
			name: "silence is not loss",
			arrivals: []arrival{
				{0, 0, 0}, {20, 1, 960}, {40, 2, 1920},
				{240, 3, 11520}, {260, 4, 12480}, {280, 5, 13440},
			},
			pops: 17,
			want: ". . 0 1 2 I I I I I . . . . 3 4 5",
			check: func(t *testing.T, st JitterStats) {
				if st.Lost != 0 {
					t.Errorf("Lost = %d, want 0", st.Lost)
				}
			},
		},
		{
			name: "a sequence jump is a new stream",
			arrivals: []arrival{
				{0, 5, 0}, {20, 6, 960}, {40, 7, 1920},
				{60, 900000, 5000}, {80, 900001, 5960}, {100, 900002, 6920},
			},
			// Frames 6 and 7, still buffered when the new stream begins, are given up.
			pops: 9,
			want: ". . 5 . . 900000 900001 900002 I",
			check: func(t *testing.T, st JitterStats) {
				if st.Restarts != 1 {
					t.Errorf("Restarts = %d, want 1", st.Restarts)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewJitterBuffer()
			got := playout(b, tt.arrivals, tt.pops, every20)
			if got != tt.want {
				t.Errorf("played\n got %s\nwant %s", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, b.Stats())
			}
		})
	}
}

func TestJitterBufferBoundsMemory(t *testing.T) {
	b := NewJitterBuffer()
	// A replayed backlog of 30 s arrives at once: only the newest 2 s are kept.
	for i := 0; i < 1500; i++ {
		b.Push(Frame{Seq: uint32(i), Timestamp: uint32(i) * FrameSamples, Payload: []byte{1}}, t0.Add(30*time.Second))
	}
	if n := b.Buffered(); n > maxBufferedFrames {
		t.Fatalf("Buffered = %d, want at most %d", n, maxBufferedFrames)
	}
	// The backlog is later than any jitter: playout starts at once and the excess delay
	// is cut.
	p := b.Pop(t0.Add(30*time.Second+time.Millisecond), true)
	if p.Kind != PlayFrame || p.Frame.Seq < 1500-maxBufferedFrames {
		t.Errorf("first playout %v seq %d, want a frame of the last 2 s", p.Kind, p.Frame.Seq)
	}
	if d := b.Delay(); d > b.Target()+skipAhead {
		t.Errorf("delay after the backlog = %v, target %v", d, b.Target())
	}
}

func TestJitterBufferReset(t *testing.T) {
	b := NewJitterBuffer()
	playout(b, stream(100, 5, nil), 4, every20)
	b.Reset()
	if b.Buffered() != 0 {
		t.Fatalf("Buffered after Reset = %d", b.Buffered())
	}
	// A new epoch may start anywhere, even behind the old stream.
	var as []arrival
	for _, a := range stream(7, 4, nil) {
		a.at += 100
		as = append(as, a)
	}
	got := playout(b, as, 6, func(k int) float64 { return 100 + every20(k) })
	if want := ". . 7 8 9 10"; got != want {
		t.Errorf("after Reset played %s, want %s", got, want)
	}
}

// speechPattern says, frame by frame, whether a speaker is talking: syllables and words
// of 1 to 12 loud frames between pauses of 1 to 8 quiet ones, the same every run.
func speechPattern(n int) []bool {
	loud := make([]bool, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; {
		for end := min(i+1+rng.IntN(12), n); i < end; i++ {
			loud[i] = true
		}
		i += 1 + rng.IntN(8)
	}
	return loud
}

// TestJitterBufferClockDrift plays an hour of speech against a sound card whose clock
// runs 200 ppm fast or slow, on the fake clock, and checks that the buffer corrects the
// drift only in silence: concealment is inserted only after a quiet frame, only a quiet
// frame after a quiet one is trimmed, nothing is dropped otherwise, and every frame still
// waits within 20 ms of the target delay: the buffer neither drains nor grows.
func TestJitterBufferClockDrift(t *testing.T) {
	const frames = 180000 // one hour
	loud := speechPattern(frames)
	for _, ppm := range []float64{+200, -200} {
		t.Run(fmt.Sprintf("%+.0fppm", ppm), func(t *testing.T) {
			clock := fakeclock.NewManual(t0)
			at := func(d time.Duration) { clock.Advance(t0.Add(d).Sub(clock.Now())) }
			b := NewJitterBuffer()
			// The card's 20 ms, on the room clock.
			period := time.Duration(float64(FrameDuration) / (1 + ppm*1e-6))
			var (
				next      int    // next frame to push
				lastQuiet bool   // what the listener heard last was quiet
				lastSeq   uint32 // the frame heard last
				worst     time.Duration
				played    int
				trims     uint64
				inSpeech  []string
			)
			for k := 0; played < frames-200; k++ {
				popAt := 3*time.Millisecond + time.Duration(k)*period
				for ; next < frames && time.Duration(next)*FrameDuration <= popAt; next++ {
					at(time.Duration(next) * FrameDuration) // it arrives when it is sent
					b.Push(Frame{Seq: uint32(next), Timestamp: uint32(next * FrameSamples), Payload: []byte{1}}, clock.Now())
				}
				at(popAt)
				p := b.Pop(clock.Now(), lastQuiet)
				if p.Trim && !loud[p.Frame.Seq] {
					if !lastQuiet {
						inSpeech = append(inSpeech, fmt.Sprintf("frame %d trimmed after a loud one", p.Frame.Seq))
					}
					var ok bool
					if p, ok = b.Trim(clock.Now()); !ok {
						t.Fatalf("pop %d: a Trim offered was refused", k)
					}
					trims++
				}
				switch p.Kind {
				case PlayFrame:
				case PlayInsert:
					if played > 0 && !lastQuiet {
						inSpeech = append(inSpeech, fmt.Sprintf("concealment inserted after frame %d, which is loud", lastSeq))
					}
					continue // concealment of the frame before: as loud as it was
				default:
					if played > 0 {
						t.Fatalf("pop %d: %v after %d frames", k, p.Kind, played)
					}
					continue
				}
				played++
				lastQuiet, lastSeq = !loud[p.Frame.Seq], p.Frame.Seq
				// The frame arrived at seq*20 ms exactly: its wait is the buffer delay.
				wait := clock.Now().Sub(t0) - time.Duration(p.Frame.Seq)*FrameDuration
				if played > 50 {
					worst = max(worst, (wait - b.Target()).Abs())
				}
			}
			st := b.Stats()
			t.Logf("%+.0f ppm: target %v, worst |delay-target| %v, %d dropped (%d trimmed), %d inserted, %d lost",
				ppm, b.Target(), worst, st.Dropped, trims, st.Inserted, st.Lost)
			if len(inSpeech) > 0 {
				t.Errorf("%d corrections inside speech, first: %s", len(inSpeech), inSpeech[0])
			}
			if st.Dropped != trims {
				t.Errorf("%d frames dropped, %d of them trimmed in silence", st.Dropped, trims)
			}
			if worst > 20*time.Millisecond {
				t.Errorf("delay strayed %v from the target, want at most 20 ms", worst)
			}
			// 200 ppm of an hour is 720 ms, 36 frames.
			if corrected := st.Dropped + st.Inserted; corrected < 30 || corrected > 50 {
				t.Errorf("%d corrections, want about 36", corrected)
			}
			if st.Lost != 0 {
				t.Errorf("Lost = %d, want 0", st.Lost)
			}
		})
	}
}

// readTrace reads testdata/jitter_trace.txt: per-frame arrival offsets in ms.
func readTrace(t *testing.T) []float64 {
	t.Helper()
	f, err := os.Open("testdata/jitter_trace.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var offs []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(line, 64)
		if err != nil {
			t.Fatalf("trace: %v", err)
		}
		offs = append(offs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return offs
}

// TestJitterBufferAdaptsToRecordedJitter replays a recorded arrival trace (calm 0-20 s,
// bursts and stalls 20-40 s, calm 40-110 s) and follows the target delay: it must grow
// during the rough stretch, come back down once calm, and stay within [40 ms, 400 ms].
func TestJitterBufferAdaptsToRecordedJitter(t *testing.T) {
	offs := readTrace(t)
	var as []arrival
	for i, o := range offs {
		as = append(as, arrival{at: float64(i)*20 + o, seq: uint32(i), ts: uint32(i * FrameSamples)})
	}
	sort.SliceStable(as, func(i, j int) bool { return as[i].at < as[j].at })

	b := NewJitterBuffer()
	var calm1, rough, end time.Duration
	var lostRough, lostCalm uint64
	ai := 0
	for k := 0; k < len(offs)+30; k++ {
		now := float64(k)*20 + 7
		for ; ai < len(as) && as[ai].at <= now; ai++ {
			b.Push(Frame{Seq: as[ai].seq, Timestamp: as[ai].ts, Payload: []byte{1}}, t0.Add(ms(as[ai].at)))
		}
		lostBefore := b.Stats().Lost
		b.Pop(t0.Add(ms(now)), k%50 > 40)
		target := b.Target()
		if target < MinTargetDelay || target > MaxTargetDelay {
			t.Fatalf("at %.0f ms the target is %v, outside [%v, %v]", now, target, MinTargetDelay, MaxTargetDelay)
		}
		sec := now / 1000
		lost := b.Stats().Lost - lostBefore
		switch {
		case sec < 20:
			calm1 = max(calm1, target)
			lostCalm += lost
		case sec < 40:
			rough = max(rough, target)
			lostRough += lost
		case sec > 45:
			lostCalm += lost
		}
		if sec > 108 {
			end = target
		}
	}
	t.Logf("target: calm %v, rough %v, end %v; lost: rough %d, calm %d", calm1, rough, end, lostRough, lostCalm)
	if calm1 > 50*time.Millisecond {
		t.Errorf("target while calm = %v, want about 40 ms", calm1)
	}
	if rough < 200*time.Millisecond {
		t.Errorf("target during the stalls peaked at %v, want above 200 ms", rough)
	}
	if end > 60*time.Millisecond {
		t.Errorf("target 70 s after the stalls = %v, want back near 40 ms", end)
	}
	if lostCalm != 0 {
		t.Errorf("%d frames lost while calm", lostCalm)
	}
	if lostRough > 40 {
		t.Errorf("%d frames lost during the stalls, want few: the target should cover them", lostRough)
	}
}

// FuzzJitterBuffer drives a buffer with random pushes, pops and trims: it must never
// panic, never hand out a frame twice, and hand out sequence numbers in increasing order
// within a stream.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x80, 0x81, 0x82})
	f.Add([]byte{0xff, 0xfe, 0x10, 0x90, 0x20, 0xa0, 0x30, 0x85, 0x85, 0x85})
	f.Add([]byte{0x7f, 0x01, 0x7f, 0x01, 0x40, 0xc0, 0xc0, 0xc0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		b := NewJitterBuffer()
		now := t0
		seq := uint32(math.MaxUint32 - 40) // wrap inside most runs
		var id uint64
		seen := map[uint64]bool{}
		var last uint32
		haveLast := false
		restarts := uint64(0)
		for i, op := range ops {
			now = now.Add(time.Duration(op&0x0f) * 3 * time.Millisecond)
			if op&0x80 == 0 {
				// Push a frame near the current sequence number, or far away.
				d := int32(op>>4) - 3
				if op&0x70 == 0x70 {
					d = int32(op) * 1000 * int32(i%3-1)
				}
				s := seq + uint32(d)
				if d > 0 {
					seq = s
				}
				id++
				p := make([]byte, 8)
				binary.LittleEndian.PutUint64(p, id)
				b.Push(Frame{Seq: s, Timestamp: s * FrameSamples, Payload: p}, now)
				continue
			}
			p := b.Pop(now, op&0x40 != 0)
			if st := b.Stats(); st.Restarts != restarts {
				restarts, haveLast = st.Restarts, false
			}
			if b.Buffered() > maxBufferedFrames {
				t.Fatalf("%d frames buffered", b.Buffered())
			}
			for p.Kind == PlayFrame {
				got := binary.LittleEndian.Uint64(p.Frame.Payload)
				if seen[got] {
					t.Fatalf("frame %d (seq %d) handed out twice", got, p.Frame.Seq)
				}
				seen[got] = true
				if haveLast && int32(p.Frame.Seq-last) <= 0 {
					t.Fatalf("seq %d after %d", p.Frame.Seq, last)
				}
				last, haveLast = p.Frame.Seq, true
				if !p.Trim || op&0x20 == 0 {
					break
				}
				// The caller found the frame quiet: trim it and take the next.
				var ok bool
				if p, ok = b.Trim(now); !ok {
					t.Fatal("a Trim offered was refused")
				}
			}
			if !p.Trim {
				if _, ok := b.Trim(now); ok {
					t.Fatal("a Trim was taken twice, or without an offer")
				}
			}
		}
	})
}

// BenchmarkJitterBuffer measures one frame through the buffer: a push, with some
// reordering, and a pop.
func BenchmarkJitterBuffer(b *testing.B) {
	jb := NewJitterBuffer()
	payload := make([]byte, 80)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		seq := uint32(i)
		if i%7 == 3 {
			seq++ // swap neighbours now and then
		} else if i%7 == 4 {
			seq--
		}
		now := t0.Add(time.Duration(i) * FrameDuration)
		jb.Push(Frame{Seq: seq, Timestamp: seq * FrameSamples, Payload: payload}, now)
		jb.Pop(now.Add(time.Millisecond), i%10 == 0)
	}
}

// A track of long packets keeps a target delay that covers the next packet when one is
// lost, however calm the network: the floor is the packet, a tick and the margin.
func TestJitterFloorFollowsThePacket(t *testing.T) {
	for _, tc := range []struct {
		packet, floor time.Duration
	}{
		{FrameDuration, MinTargetDelay},
		{10 * time.Millisecond, MinTargetDelay},
		{60 * time.Millisecond, 100 * time.Millisecond},
	} {
		b := NewJitterBuffer()
		b.SetPacket(tc.packet)
		step := uint32(int64(tc.packet) * SampleRate / int64(time.Second))
		now := t0
		for i := range uint32(1500) { // a calm minute and more, one packet per packet length
			b.Push(Frame{Seq: i, Timestamp: i * step, Payload: []byte{1}}, now)
			now = now.Add(tc.packet)
			b.Pop(now, true)
		}
		if got := b.Target(); got != tc.floor {
			t.Errorf("%v packets: target %v after a calm minute, want %v", tc.packet, got, tc.floor)
		}
	}
}
