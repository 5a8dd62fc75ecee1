//go:build cgo

package audio

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/fakeclock"
	"github.com/spacetui/spacetui/transport"
)

// stepSink hands each written frame to the test and waits for the test to let the
// playout go on, so the test runs the pipeline tick by tick.
type stepSink struct {
	out       chan []int16
	ack       chan struct{}
	closed    atomic.Int32
	underruns uint64
}

var _ Sink = (*stepSink)(nil)

func newStepSink() *stepSink {
	return &stepSink{out: make(chan []int16), ack: make(chan struct{})}
}

func (s *stepSink) Write(ctx context.Context, pcm []int16) error {
	select {
	case s.out <- append([]int16(nil), pcm...):
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-s.ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *stepSink) Close() error      { s.closed.Add(1); return nil }
func (s *stepSink) Name() string      { return "step" }
func (s *stepSink) Underruns() uint64 { return s.underruns }

// harness runs a pipeline on a fake clock, 20 ms per tick.
type harness struct {
	t     *testing.T
	p     *Pipeline
	sink  *stepSink
	clock *fakeclock.Clock

	mu     sync.Mutex
	mixed  [][]int16 // the recorded mix, decoded back
	mixDec *Decoder
}

// WriteMixed decodes the encoded mix the pipeline records, to check what it holds.
func (h *harness) WriteMixed(pkt []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	pcm := make([]int16, decodeSamples)
	n, err := h.mixDec.Decode(pkt, pcm)
	if err != nil {
		h.t.Errorf("the recorded mix has an undecodable packet: %v", err)
		return
	}
	h.mixed = append(h.mixed, pcm[:n])
}

// opusFrame is one Opus frame of speaker id.
func opusFrame(id string, seq, ts uint32, pkt []byte) transport.AudioFrame {
	return transport.AudioFrame{Speaker: id, Codec: transport.CodecOpus, Seq: seq, Timestamp: ts,
		Duration: FrameDuration, Payload: pkt}
}

func newHarness(t *testing.T, volume int) *harness {
	t.Helper()
	return startHarness(t, PipelineConfig{Volume: volume})
}

// startHarness is newHarness with a config; its Sink and Clock are the harness's.
func startHarness(t *testing.T, cfg PipelineConfig) *harness {
	t.Helper()
	h := &harness{t: t, sink: newStepSink(), clock: fakeclock.New(t0)}
	cfg.Sink, cfg.Clock = h.sink, h.clock
	p, err := NewPipeline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h.mixDec, err = NewDecoder(); err != nil {
		t.Fatal(err)
	}
	if err := p.RecordMix(h); err != nil {
		t.Fatal(err)
	}
	h.p = p
	p.Start(context.Background())
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// tick receives the frame the pipeline made for the current time, then runs push and
// moves the clock 20 ms on before letting playout continue.
func (h *harness) tick(push func()) []int16 {
	h.t.Helper()
	select {
	case pcm := <-h.sink.out:
		if push != nil {
			push()
		}
		h.clock.Advance(FrameDuration)
		h.sink.ack <- struct{}{}
		return pcm
	case <-time.After(5 * time.Second):
		h.t.Fatal("the pipeline wrote nothing for 5 s")
		return nil
	}
}

// play pushes pkts for speaker id, one per tick (skipping the indexes in lose), and
// returns what was played, frame by frame.
func (h *harness) play(id string, pkts [][]byte, extra int, lose map[int]bool) [][]int16 {
	var out [][]int16
	for i := 0; i < len(pkts)+extra; i++ {
		out = append(out, h.tick(func() {
			if i < len(pkts) && !lose[i] {
				h.p.Push(opusFrame(id, uint32(i), uint32(i*FrameSamples), pkts[i]))
			}
		}))
	}
	return out
}

func TestPipelinePlaysATone(t *testing.T) {
	h := newHarness(t, 100)
	out := h.play("ada", encodeTone(t, 100, 0.3), 3, nil)
	// The first frames wait out the target delay; from then on the tone plays.
	for i, pcm := range out[10:100] {
		if l := Level(pcm); l < 0.6 {
			t.Fatalf("frame %d: level %.2f, want the tone", i+10, l)
		}
	}
	snap := h.p.Snapshot()
	if len(snap.Speakers) != 1 || snap.Speakers[0].ID != "ada" || !snap.Speakers[0].Talking || snap.Speakers[0].Level < 0.6 {
		t.Errorf("speakers = %+v", snap.Speakers)
	}
	if snap.Lost != 0 || snap.Frames < 95 || snap.Output != "step" || snap.Volume != 100 {
		t.Errorf("snapshot = %+v", snap)
	}
	if snap.BufferMs < 20 || snap.BufferMs > 80 {
		t.Errorf("BufferMs = %d, want about 40", snap.BufferMs)
	}
}

func TestPipelineConcealsLoss(t *testing.T) {
	h := newHarness(t, 100)
	lose := map[int]bool{}
	for i := 15; i < 100; i += 10 {
		lose[i] = true
	}
	out := h.play("ada", encodeTone(t, 100, 0.3), 3, lose)
	for i, pcm := range out[10:100] {
		if l := Level(pcm); l < 0.5 {
			t.Fatalf("frame %d: level %.2f, a hole in the tone", i+10, l)
		}
	}
	snap := h.p.Snapshot()
	if snap.Lost != uint64(len(lose)) || snap.LossPct < 8 || snap.LossPct > 10 {
		t.Errorf("Lost %d (%.1f%%), want %d", snap.Lost, snap.LossPct, len(lose))
	}
}

func TestPipelineSurvivesMalformedPackets(t *testing.T) {
	h := newHarness(t, 100)
	pkts := encodeTone(t, 60, 0.3)
	pkts[20] = []byte{0xfb}               // code 3 without a count
	pkts[21] = []byte{}                   // empty
	pkts[22] = []byte{0xfa, 250, 1, 2}    // code 2 length past the end
	pkts[23] = make([]byte, maxPayload+1) // too large
	h.play("ada", pkts, 3, nil)
	if snap := h.p.Snapshot(); snap.Lost != 4 {
		t.Errorf("Lost = %d, want the 4 malformed packets", snap.Lost)
	}
}

func TestPipelineVolumeAndMutes(t *testing.T) {
	h := newHarness(t, 100)
	pkts := encodeTone(t, 200, 0.3)
	var out [][]int16
	for i := range pkts {
		switch i {
		case 40:
			h.p.SetVolume(50)
		case 80:
			h.p.SetMuted(true)
		case 120:
			h.p.SetMuted(false)
			h.p.SetSpeakerMuted("ada", true)
		case 160:
			h.p.SetSpeakerMuted("ada", false)
			h.p.SetVolume(150)
		}
		out = append(out, h.tick(func() { h.p.Push(opusFrame("ada", uint32(i), uint32(i*FrameSamples), pkts[i])) }))
	}
	rms := func(from, to int) float64 {
		var sum float64
		for _, pcm := range out[from:to] {
			for _, v := range pcm {
				sum += float64(v) * float64(v)
			}
		}
		return sum / float64((to-from)*FrameSamples)
	}
	full, half, muted, spkMuted, loud := rms(20, 40), rms(50, 80), rms(90, 120), rms(130, 160), rms(170, 200)
	if r := half / full; r < 0.2 || r > 0.3 { // power goes with the square of the volume
		t.Errorf("50%% volume has %.2f of the power, want 0.25", r)
	}
	if muted != 0 || spkMuted != 0 {
		t.Errorf("muted output has power %.0f and %.0f, want 0", muted, spkMuted)
	}
	if r := loud / full; r < 2 || r > 2.4 {
		t.Errorf("150%% volume has %.2f of the power, want 2.25", r)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := 90; i < 160; i++ {
		if Level(h.mixed[i]) < 0.6 {
			t.Fatalf("recorded mix frame %d is not the room at full volume", i)
		}
	}
	snap := h.p.Snapshot()
	if snap.Volume != 150 || snap.Muted || !snap.Speakers[0].Talking {
		t.Errorf("snapshot = %+v", snap)
	}
}

func TestPipelineMixesSpeakers(t *testing.T) {
	h := newHarness(t, 100)
	a, b := encodeTone(t, 60, 0.3), encodeTone(t, 60, 0.3)
	var out [][]int16
	for i := range a {
		out = append(out, h.tick(func() {
			h.p.Push(opusFrame("ada", uint32(i), uint32(i*FrameSamples), a[i]))
			h.p.Push(opusFrame("grace", uint32(1000+i), uint32(5000+i*FrameSamples), b[i]))
		}))
	}
	// Two identical tones in phase: twice the amplitude, +6 dB, 0.1 more on the meter.
	if l := Level(out[40]); l < 0.7 {
		t.Errorf("two speakers mix to level %.2f", l)
	}
	snap := h.p.Snapshot()
	if len(snap.Speakers) != 2 || snap.Speakers[0].ID != "ada" || snap.Speakers[1].ID != "grace" {
		t.Errorf("speakers = %+v", snap.Speakers)
	}
}

func TestPipelineResetSpeaker(t *testing.T) {
	h := newHarness(t, 100)
	pkts := encodeTone(t, 80, 0.3)
	for i := 0; i < 40; i++ {
		h.tick(func() { h.p.Push(opusFrame("ada", uint32(50000+i), uint32(i*FrameSamples), pkts[i])) })
	}
	h.p.ResetSpeaker("ada")
	h.p.ResetSpeaker("nobody")
	var out [][]int16
	for i := 40; i < 80; i++ {
		// The new epoch starts over at sequence 0, behind the old stream.
		out = append(out, h.tick(func() { h.p.Push(opusFrame("ada", uint32(i-40), uint32(i*FrameSamples), pkts[i])) }))
	}
	if l := Level(out[30]); l < 0.6 {
		t.Errorf("after ResetSpeaker the new stream plays at level %.2f", l)
	}
}

func TestPipelineBoundsSpeakers(t *testing.T) {
	h := newHarness(t, 100)
	h.tick(func() {
		for i := 0; i < 200; i++ {
			h.p.Push(opusFrame(fmt.Sprintf("s%03d", i), 0, 0, SilencePacket()))
		}
	})
	if n := len(h.p.Snapshot().Speakers); n != maxSpeakers {
		t.Errorf("%d speakers, want at most %d", n, maxSpeakers)
	}
	// A minute of nothing forgets them.
	h.clock.Advance(speakerTimeout)
	h.tick(nil)
	h.tick(nil)
	if n := len(h.p.Snapshot().Speakers); n != 0 {
		t.Errorf("%d speakers after a silent minute", n)
	}
}

func TestPipelineCloseIsIdempotent(t *testing.T) {
	sink := newStepSink()
	p, err := NewPipeline(PipelineConfig{Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil { // before Start: closes the sink
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p.Start(context.Background()) // after Close: nothing starts
	if n := sink.closed.Load(); n != 1 {
		t.Errorf("sink closed %d times", n)
	}
	if _, err := NewPipeline(PipelineConfig{}); err == nil {
		t.Error("a pipeline without a sink")
	}
}

// TestPipelineConcurrentUse pushes from one goroutine and reads snapshots from another
// while a real-time null sink paces playout; run it with -race.
func TestPipelineConcurrentUse(t *testing.T) {
	p, err := NewPipeline(PipelineConfig{Sink: NewNullSink(nil), Volume: 80})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.Start(ctx)
	pkts := encodeTone(t, 15, 0.3)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i, pkt := range pkts {
			p.Push(opusFrame("ada", uint32(i), uint32(i*FrameSamples), pkt))
			p.Push(opusFrame("grace", uint32(i), uint32(i*FrameSamples), SilencePacket()))
			time.Sleep(FrameDuration)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 6; i++ {
			_ = p.Snapshot()
			p.SetSpeakerMuted("grace", i%2 == 0)
			p.SetVolume(60 + i)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	wg.Wait()
	if snap := p.Snapshot(); snap.Frames == 0 || snap.Output != "null" || snap.Volume != 65 {
		t.Errorf("snapshot = %+v", snap)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPipelineTick measures one 20 ms tick with four talking speakers: pop, decode,
// meter and mix.
func BenchmarkPipelineTick(b *testing.B) {
	p, err := NewPipeline(PipelineConfig{Sink: NewNullSink(nil)})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	pkts := encodeTone(b, 50, 0.3)
	clock := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for s := 0; s < 4; s++ {
			sp := p.speaker(string(rune('a'+s)), clock)
			sp.mu.Lock()
			sp.codec = transport.CodecOpus
			sp.jb.Push(Frame{Seq: uint32(i), Timestamp: uint32(i * FrameSamples), Payload: pkts[i%len(pkts)]}, clock)
			sp.lastPush = clock
			sp.mu.Unlock()
		}
		clock = clock.Add(FrameDuration)
		p.tick(clock, false)
	}
}

// Duplicated and reordered frames (as a resume seam or a faulty server delivers them) are
// each played once, in order: the output is the same as from a clean stream.
func TestPipelineDuplicatesAndReorder(t *testing.T) {
	pkts := encodeTone(t, 100, 0.3)
	clean := newHarness(t, 100).play("ada", pkts, 3, nil)

	h := newHarness(t, 100)
	var out [][]int16
	dups := 0
	for i := 0; i < len(pkts)+3; i++ {
		out = append(out, h.tick(func() {
			switch {
			case i >= len(pkts):
			case i%10 == 4 && i+1 < len(pkts): // the next frame arrives first
				h.p.Push(opusFrame("ada", uint32(i+1), uint32((i+1)*FrameSamples), pkts[i+1]))
				h.p.Push(opusFrame("ada", uint32(i), uint32(i*FrameSamples), pkts[i]))
			case i%10 == 5:
				// already pushed, early; and once more, as a duplicate
				h.p.Push(opusFrame("ada", uint32(i), uint32(i*FrameSamples), pkts[i]))
				dups++
			case i%7 == 0:
				h.p.Push(opusFrame("ada", uint32(i), uint32(i*FrameSamples), pkts[i]))
				h.p.Push(opusFrame("ada", uint32(i), uint32(i*FrameSamples), pkts[i]))
				dups++
			default:
				h.p.Push(opusFrame("ada", uint32(i), uint32(i*FrameSamples), pkts[i]))
			}
		}))
	}
	snap := h.p.Snapshot()
	if snap.Lost != 0 || snap.Duplicates != uint64(dups) || snap.Frames != uint64(len(pkts)) {
		t.Fatalf("frames %d lost %d duplicates %d; want %d, 0, %d", snap.Frames, snap.Lost, snap.Duplicates, len(pkts), dups)
	}
	for i := range clean {
		if !slices.Equal(out[i], clean[i]) {
			t.Fatalf("tick %d differs from the clean stream", i)
		}
	}
}

// A track in a codec the pipeline cannot decode stays silent, without a crash; the
// others play on.
func TestPipelineUnsupportedCodec(t *testing.T) {
	pkts := encodeTone(t, 50, 0.3)
	h := newHarness(t, 100)
	for i := range pkts {
		h.tick(func() {
			h.p.Push(opusFrame("ada", uint32(i), uint32(i*FrameSamples), pkts[i]))
			vorbis := opusFrame("radio", uint32(i), uint32(i*FrameSamples), pkts[i])
			vorbis.Codec = transport.CodecVorbis // no decoder: the track stays silent
			h.p.Push(vorbis)
		})
	}
	levels := map[string]SpeakerLevel{}
	for _, sp := range h.p.Snapshot().Speakers {
		levels[sp.ID] = sp
	}
	if !levels["ada"].Talking {
		t.Errorf("the Opus track is not heard: %+v", levels["ada"])
	}
	if r := levels["radio"]; r.Talking || r.Level != 0 {
		t.Errorf("the Vorbis track was played as Opus: %+v", r)
	}
}

func TestPipelineSpeakerVolume(t *testing.T) {
	h := newHarness(t, 100)
	h.p.SetSpeakerVolume("ada", 50) // before ada is heard: kept for her
	pkts := encodeTone(t, 120, 0.3)
	var out [][]int16
	for i := range pkts {
		if i == 60 {
			h.p.SetSpeakerVolume("ada", 100)
		}
		out = append(out, h.tick(func() { h.p.Push(opusFrame("ada", uint32(i), uint32(i*FrameSamples), pkts[i])) }))
	}
	power := func(from, to int) float64 {
		var sum float64
		for _, pcm := range out[from:to] {
			for _, v := range pcm {
				sum += float64(v) * float64(v)
			}
		}
		return sum
	}
	if r := power(20, 60) / power(80, 120); r < 0.2 || r > 0.3 {
		t.Errorf("ada at 50%% has %.2f of the power at 100%%, want 0.25", r)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := 20; i < 60; i++ {
		if Level(h.mixed[i]) < 0.6 {
			t.Fatalf("recorded mix frame %d is scaled by the listener's speaker volume", i)
		}
	}
}

// tapDecoder records, for each Decode, the index of the packet it was given (its place
// in the speech the test sends), and -1 for each Conceal.
type tapDecoder struct {
	FrameDecoder
	index map[*byte]int
	log   *[]int
}

func (d tapDecoder) Decode(pkt []byte, pcm []int16) (int, error) {
	*d.log = append(*d.log, d.index[&pkt[0]])
	return d.FrameDecoder.Decode(pkt, pcm)
}

func (d tapDecoder) Conceal(next []byte, pcm []int16) error {
	*d.log = append(*d.log, -1)
	return d.FrameDecoder.Conceal(next, pcm)
}

// TestPipelineCorrectsDriftOnlyInSilence plays ten minutes of speech (words and syllables
// between short pauses, as Opus) against a sound card 200 ppm fast or slow on the fake
// clock, and follows every packet to the decoder: no frame of speech may be dropped, and
// no drop or inserted concealment may follow a loud frame, while the delay still comes
// back to the target.
func TestPipelineCorrectsDriftOnlyInSilence(t *testing.T) {
	const frames = 30000 // ten minutes: 120 ms of drift, six corrections
	loud := speechPattern(frames)
	tone, hush := encodeTone(t, 12, 0.3), encodeTone(t, 8, 0)
	index := map[*byte]int{}
	pkts := make([][]byte, frames)
	for i := range pkts {
		src := hush[i%len(hush)]
		if loud[i] {
			src = tone[i%len(tone)]
		}
		pkts[i] = slices.Clone(src) // its own memory: the tap knows it by address
		index[&pkts[i][0]] = i
	}
	for _, ppm := range []float64{+200, -200} {
		t.Run(fmt.Sprintf("%+.0fppm", ppm), func(t *testing.T) {
			h := newHarness(t, 100)
			if err := h.p.RecordMix(nil); err != nil {
				t.Fatal(err)
			}
			period := time.Duration(float64(FrameDuration) / (1 + ppm*1e-6))
			at := func(d time.Duration) { h.clock.Advance(t0.Add(d).Sub(h.clock.Now())) }
			var (
				log              []int
				sent             int
				prev             = -1 // the packet heard last
				corrected, worst int
				inSpeech         []string
				drift            time.Duration
			)
			for k := 0; sent < frames || prev < frames-1; k++ {
				select {
				case <-h.sink.out:
				case <-time.After(5 * time.Second):
					t.Fatal("the pipeline wrote nothing for 5 s")
				}
				// What the tick played, packet by packet: a packet skipped, or decoded and
				// then replaced by the next, was dropped; a concealment without loss was
				// inserted. Either must follow a quiet packet, and a dropped one be quiet.
				if len(log) == 2 && log[0] >= 0 && log[1] >= 0 {
					if d := log[0]; loud[d] || prev >= 0 && loud[prev] {
						inSpeech = append(inSpeech, fmt.Sprintf("packet %d trimmed (loud %v, after a loud one %v)", d, loud[d], prev >= 0 && loud[prev]))
					}
					corrected++
					prev, log = log[0], log[1:]
				}
				for _, i := range log {
					if i < 0 {
						if prev >= 0 && loud[prev] {
							inSpeech = append(inSpeech, fmt.Sprintf("concealment inserted after packet %d, which is loud", prev))
						}
						corrected++
						continue
					}
					for d := prev + 1; d < i; d++ {
						if loud[d] || d > 0 && loud[d-1] {
							inSpeech = append(inSpeech, fmt.Sprintf("packet %d dropped (loud %v, after a loud one %v)", d, loud[d], d > 0 && loud[d-1]))
						}
						corrected++
					}
					prev = i
				}
				log = log[:0]
				if k == 0 {
					// Tap the decoder while the playout goroutine waits on the sink.
					sp := h.p.speaker("ada", h.clock.Now())
					sp.dec, sp.decCodec = tapDecoder{FrameDecoder: must(NewDecoder()), index: index, log: &log}, transport.CodecOpus
				}
				next := time.Duration(k+1) * period
				for ; sent < frames && time.Duration(sent)*FrameDuration <= next; sent++ {
					at(time.Duration(sent) * FrameDuration)
					h.p.Push(opusFrame("ada", uint32(sent), uint32(sent*FrameSamples), pkts[sent]))
				}
				at(next)
				if s := h.p.Snapshot(); len(s.Speakers) == 1 && sent > 500 {
					drift = time.Duration(s.Speakers[0].BufferMs)*time.Millisecond - MinTargetDelay
					worst = max(worst, int(drift.Abs().Milliseconds()))
				}
				h.sink.ack <- struct{}{}
			}
			t.Logf("%+.0f ppm: %d corrections, worst |delay-target| %d ms, last %v", ppm, corrected, worst, drift)
			if len(inSpeech) > 0 {
				t.Errorf("%d corrections inside speech, first: %s", len(inSpeech), inSpeech[0])
			}
			if corrected < 4 || worst > 40 {
				t.Errorf("%d corrections, worst delay error %d ms: want about 6, and at most 40 ms", corrected, worst)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
