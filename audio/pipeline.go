package audio

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// Pipeline bounds: what the network can make it hold.
const (
	maxSpeakers    = 64               // tracks played at once; more are ignored
	maxPayload     = 1 << 16          // an Opus, AAC, MP3 or Vorbis packet is smaller; larger ones are lost
	speakerTimeout = time.Minute      // a speaker not heard from for this long is forgotten
	decodeSamples  = 140 * 48         // the longest packet of any codec: AAC at 7.35 kHz, 139 ms
	sinkRetry      = FrameDuration    // pause after a failed sink write
	warnEvery      = 10 * time.Second // at most one warning per kind this often
)

// PipelineConfig configures a Pipeline.
type PipelineConfig struct {
	// Sink plays the mix and paces playout. The Pipeline owns it: Close closes it.
	Sink Sink
	// Clock timestamps arrivals and playout; nil means the real clock.
	Clock Clock
	// Volume is the initial volume in percent, 0 to MaxVolume; it is clamped.
	Volume int
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
}

// MixBitrate is the Opus bit rate of the encoded room mix (speech, mono).
const MixBitrate = 32000

// MixWriter takes the room's mix for recording: every 20 ms one Opus packet of all
// speakers at full volume, whatever the listener's volume and mutes. WriteMixed is called
// on the playout goroutine, so it must not block; it may keep pkt.
type MixWriter interface {
	WriteMixed(pkt []byte)
}

// mixRecording is where the room mix goes, with its encoder.
type mixRecording struct {
	w   MixWriter
	enc *Encoder
}

// SpeakerLevel is one speaker's meter reading.
type SpeakerLevel struct {
	ID       string
	Level    float64 // 0..1, for a bar meter
	Talking  bool    // from the decoded audio level, with a 300 ms hangover
	BufferMs int     // the speaker's playout delay
}

// Snapshot is the pipeline's state for a status line, read at a UI's frame rate.
type Snapshot struct {
	Speakers []SpeakerLevel // sorted by ID
	Frames   uint64         // frames played from packets
	Lost     uint64         // frames concealed because they were missing, late or malformed
	LossPct  float64        // Lost as a percentage of Frames + Lost
	// Duplicates counts frames received more than once (and played once).
	Duplicates uint64
	BufferMs   int    // the largest playout delay among the speakers
	Underruns  uint64 // times the sound card found nothing to play
	Volume     int
	Muted      bool
	Output     string // the sink's name
}

// Pipeline plays a room: per-speaker jitter buffers, decoding with concealment,
// meters, the mix and the sink. Push is called from the network goroutine; one playout
// goroutine, started by Start, runs at the sink's pace; everything else may be called
// from any goroutine.
type Pipeline struct {
	sink  Sink
	clock Clock
	log   *slog.Logger
	mix   atomic.Pointer[mixRecording]

	volume    atomic.Int32
	muted     atomic.Bool
	frames    atomic.Uint64
	lost      atomic.Uint64
	dups      atomic.Uint64
	underruns func() uint64

	mu          sync.Mutex // guards speakers, speakerMute, speakerVol and the lifecycle fields
	speakers    map[string]*speaker
	speakerMute map[string]bool
	speakerVol  map[string]int // per-speaker volume in percent, where not 100
	started     bool
	closed      bool
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	closeErr    error

	// Playout goroutine only.
	warned     map[string]time.Time
	play, room *Mixer
	out, mixed []int16
	order      []*speaker
}

// speaker is one track's state.
type speaker struct {
	id    string
	meter *Meter
	muted atomic.Bool
	vol   atomic.Int32 // playback volume of this speaker in percent, 0..MaxVolume
	delay atomic.Int64 // ms

	mu       sync.Mutex // guards jb, lastPush, reset, codec and packet against Push
	jb       *JitterBuffer
	lastPush time.Time
	reset    bool
	codec    transport.Codec
	packet   time.Duration // the length of the track's packets, as jb was told

	// Playout goroutine only.
	dec         FrameDecoder
	decCodec    transport.Codec // the codec of dec
	unsupported bool            // dec's stream was found undecodable and reported
	decoding    bool            // the last packet decoded
	// pcm holds decoded audio not played yet, the carry, at pcm[head:tail], and room
	// for one more packet after it: a packet longer than 20 ms plays over several ticks.
	pcm        []int16
	head, tail int
	lastLen    int // samples of the last packet decoded: a lost one is concealed as long
}

// NewPipeline returns a pipeline that plays to cfg.Sink. It fails with
// ErrNeedsFullBuild when Opus decoding is not built in.
func NewPipeline(cfg PipelineConfig) (*Pipeline, error) {
	if cfg.Sink == nil {
		return nil, errors.New("audio pipeline: no sink")
	}
	if _, err := NewDecoder(); err != nil {
		return nil, err
	}
	p := &Pipeline{
		sink:        cfg.Sink,
		clock:       orSystem(cfg.Clock),
		log:         cfg.Logger,
		speakers:    map[string]*speaker{},
		speakerMute: map[string]bool{},
		speakerVol:  map[string]int{},
		warned:      map[string]time.Time{},
		play:        NewMixer(FrameSamples),
		room:        NewMixer(FrameSamples),
		out:         make([]int16, FrameSamples),
		mixed:       make([]int16, FrameSamples),
		underruns:   func() uint64 { return 0 },
	}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if u, ok := cfg.Sink.(interface{ Underruns() uint64 }); ok {
		p.underruns = u.Underruns
	}
	p.SetVolume(cfg.Volume)
	return p, nil
}

// Start starts the playout goroutine; it runs until ctx is done or Close. Starting twice,
// or after Close, does nothing.
func (p *Pipeline) Start(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.closed {
		return
	}
	p.started = true
	ctx, p.cancel = context.WithCancel(ctx)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.run(ctx)
	}()
}

// Close stops playout, waits for the playout goroutine and closes the sink. Closing
// twice returns the first result.
func (p *Pipeline) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return p.closeErr
	}
	p.closed = true
	cancel := p.cancel
	p.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	p.wg.Wait()
	err := p.sink.Close()
	p.mu.Lock()
	p.closeErr = err
	p.mu.Unlock()
	return err
}

// Push hands the pipeline one received frame. It is cheap, never blocks on playout for
// more than a buffer insert, and holds at most 2 s per speaker and 64 speakers. The
// payload is kept, not copied. A track that changes codec starts a new stream.
func (p *Pipeline) Push(f transport.AudioFrame) {
	now := p.clock.Now()
	sp := p.speaker(f.Speaker, now)
	if sp == nil {
		return
	}
	if len(f.Payload) > maxPayload {
		return // a hole: concealed, and counted lost, when its turn comes
	}
	sp.mu.Lock()
	if sp.codec != f.Codec {
		if sp.codec != "" {
			sp.jb.Reset()
		}
		sp.codec = f.Codec
	}
	if f.Duration != sp.packet {
		sp.packet = f.Duration
		sp.jb.SetPacket(f.Duration)
	}
	before := sp.jb.Stats().Duplicate
	sp.jb.Push(Frame{Seq: f.Seq, Timestamp: f.Timestamp, Payload: f.Payload, Setup: f.Setup}, now)
	if sp.jb.Stats().Duplicate != before {
		p.dups.Add(1)
	}
	sp.lastPush = now
	sp.mu.Unlock()
}

// speaker returns the speaker with id, adding it if there is room.
func (p *Pipeline) speaker(id string, now time.Time) *speaker {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sp := p.speakers[id]; sp != nil {
		return sp
	}
	if len(p.speakers) >= maxSpeakers || p.closed {
		return nil
	}
	sp := &speaker{id: id, meter: NewMeter(), jb: NewJitterBuffer(), lastPush: now,
		pcm: make([]int16, FrameSamples+decodeSamples), lastLen: FrameSamples}
	sp.muted.Store(p.speakerMute[id])
	sp.vol.Store(100)
	if v, ok := p.speakerVol[id]; ok {
		sp.vol.Store(int32(v))
	}
	p.speakers[id] = sp
	return sp
}

// ResetSpeaker forgets a speaker's buffered frames and decoder state, for a replaced
// track or a new stream epoch. Frames pushed afterwards start a new stream.
func (p *Pipeline) ResetSpeaker(id string) {
	p.mu.Lock()
	sp := p.speakers[id]
	p.mu.Unlock()
	if sp == nil {
		return
	}
	sp.mu.Lock()
	sp.jb.Reset()
	sp.reset = true
	sp.mu.Unlock()
}

// SetVolume sets the volume in percent, clamped to 0..MaxVolume.
func (p *Pipeline) SetVolume(pct int) { p.volume.Store(int32(min(max(pct, 0), MaxVolume))) }

// SetMuted mutes or unmutes the output. Meters and the recorded mix go on.
func (p *Pipeline) SetMuted(muted bool) { p.muted.Store(muted) }

// SetSpeakerMuted mutes or unmutes one speaker in the output, including a speaker not
// heard yet. The speaker's meter and the recorded mix go on.
func (p *Pipeline) SetSpeakerMuted(id string, muted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if muted {
		p.speakerMute[id] = true
	} else {
		delete(p.speakerMute, id)
	}
	if sp := p.speakers[id]; sp != nil {
		sp.muted.Store(muted)
	}
}

// SetSpeakerVolume sets one speaker's playback volume in percent, clamped to
// 0..MaxVolume, including a speaker not heard yet. The meter and the recorded mix keep
// the speaker's own level.
func (p *Pipeline) SetSpeakerVolume(id string, pct int) {
	pct = min(max(pct, 0), MaxVolume)
	p.mu.Lock()
	defer p.mu.Unlock()
	if pct == 100 {
		delete(p.speakerVol, id)
	} else {
		p.speakerVol[id] = pct
	}
	if sp := p.speakers[id]; sp != nil {
		sp.vol.Store(int32(pct))
	}
}

// Snapshot returns the meters and counters. It takes one short lock and reads atomics,
// so a UI may call it at 20 Hz.
func (p *Pipeline) Snapshot() Snapshot {
	p.mu.Lock()
	levels := make([]SpeakerLevel, 0, len(p.speakers))
	for _, sp := range p.speakers {
		levels = append(levels, SpeakerLevel{ID: sp.id, Level: sp.meter.Level(), Talking: sp.meter.Talking(), BufferMs: int(sp.delay.Load())})
	}
	p.mu.Unlock()
	slices.SortFunc(levels, func(a, b SpeakerLevel) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	s := Snapshot{
		Speakers:   levels,
		Frames:     p.frames.Load(),
		Lost:       p.lost.Load(),
		Duplicates: p.dups.Load(),
		Underruns:  p.underruns(),
		Volume:     int(p.volume.Load()),
		Muted:      p.muted.Load(),
		Output:     p.sink.Name(),
	}
	if total := s.Frames + s.Lost; total > 0 {
		s.LossPct = 100 * float64(s.Lost) / float64(total)
	}
	for _, l := range levels {
		s.BufferMs = max(s.BufferMs, l.BufferMs)
	}
	return s
}

// run is the playout goroutine: one frame per sink write, at the sink's pace.
func (p *Pipeline) run(ctx context.Context) {
	for ctx.Err() == nil {
		mix := p.mix.Load()
		p.tick(p.clock.Now(), mix != nil)
		if mix != nil {
			p.recordMix(mix)
		}
		if err := p.sink.Write(ctx, p.out); err != nil {
			if ctx.Err() != nil {
				return
			}
			p.warn("sink", "audio output failed; playing on without it", "output", p.sink.Name(), "err", err)
			select {
			case <-ctx.Done():
				return
			case <-p.clock.After(sinkRetry):
			}
		}
	}
}

// RecordMix starts handing w the room's mix, encoded, from the next 20 ms on; nil
// stops it. It fails, and nothing is recorded, where Opus encoding is not built in.
func (p *Pipeline) RecordMix(w MixWriter) error {
	if w == nil {
		p.mix.Store(nil)
		return nil
	}
	enc, err := NewEncoder(MixBitrate)
	if err != nil {
		return err
	}
	p.mix.Store(&mixRecording{w: w, enc: enc})
	return nil
}

// recordMix encodes p.mixed for m. Playout goroutine only.
func (p *Pipeline) recordMix(m *mixRecording) {
	pkt, err := m.enc.Encode(p.mixed)
	if err != nil {
		p.warn("mix", "mixed recording: encode", "err", err)
		return
	}
	m.w.WriteMixed(pkt)
}

// tick makes the next 20 ms of output in p.out (and, with mixed, the room mix in
// p.mixed).
func (p *Pipeline) tick(now time.Time, mixed bool) {
	p.order = p.order[:0]
	p.mu.Lock()
	for id, sp := range p.speakers {
		sp.mu.Lock()
		idle := now.Sub(sp.lastPush) > speakerTimeout
		sp.mu.Unlock()
		if idle {
			delete(p.speakers, id)
			continue
		}
		p.order = append(p.order, sp)
	}
	p.mu.Unlock()

	p.play.Reset()
	p.room.Reset()
	for _, sp := range p.order {
		pcm := p.render(sp, now)
		if pcm == nil {
			continue
		}
		p.room.Add(pcm)
		if !sp.muted.Load() {
			p.play.AddAt(pcm, int(sp.vol.Load())) // the room mix, for the recording, is unscaled
		}
	}
	vol := int(p.volume.Load())
	if p.muted.Load() {
		vol = 0
	}
	p.play.Mix(p.out, vol)
	if mixed {
		p.room.Mix(p.mixed, 100)
	}
}

// render plays one speaker's next 20 ms and meters it. It returns nil when the speaker
// has nothing to play.
//
// Packets need not be 20 ms long. Each decoded packet goes after the carry, the audio
// that earlier ticks decoded and did not play yet; a tick plays 20 ms from the front,
// and pops the jitter buffer only when the carry holds less than that. The buffer is
// asked what to play at the time the next packet will start to sound, after the
// carry, so its delay control sees the real delay however long the packets are.
func (p *Pipeline) render(sp *speaker, now time.Time) []int16 {
	for sp.tail-sp.head < FrameSamples {
		sp.tail = copy(sp.pcm, sp.pcm[sp.head:sp.tail]) // the carry to the front: room for a whole packet after it
		sp.head = 0
		at := now.Add(samplesToDuration(int64(sp.tail)))
		sp.mu.Lock()
		pl := sp.jb.Pop(at, sp.meter.Quiet())
		sp.delay.Store(sp.jb.Delay().Milliseconds())
		reset := sp.reset
		sp.reset = false
		codec := sp.codec
		sp.mu.Unlock()

		if !p.readyDecoder(sp, codec, reset) {
			sp.head, sp.tail = 0, 0
			sp.meter.Update(nil)
			return nil
		}
		if pl.Kind == PlayIdle {
			p.lost.Add(uint64(pl.Lost))
			if sp.tail == 0 {
				sp.meter.Update(nil)
				return nil
			}
			// The talkspurt ended, or the stream was reset, inside the carry: play out
			// the rest.
			clear(sp.pcm[sp.tail:FrameSamples])
			sp.tail = FrameSamples
			break
		}
		start := sp.tail
		decoded := p.fill(sp, pl)
		if pl.Trim && decoded && Level(sp.pcm[start:sp.tail]) < TalkingLevel {
			// Quiet after quiet and the delay too long: drop this packet, decoded only
			// to keep the decoder's state whole, and play the next one in its place.
			sp.mu.Lock()
			next, ok := sp.jb.Trim(at)
			if ok {
				sp.delay.Store(sp.jb.Delay().Milliseconds())
			}
			sp.mu.Unlock()
			if ok {
				sp.tail = start
				decoded = p.fill(sp, next)
			}
		}
		if decoded {
			p.frames.Add(1)
		}
	}
	pcm := sp.pcm[sp.head : sp.head+FrameSamples]
	sp.head += FrameSamples
	sp.meter.Update(pcm)
	return pcm
}

// readyDecoder makes sp's decoder for codec, or resets it for a new stream. It reports
// false, with a warning, when codec cannot be decoded.
func (p *Pipeline) readyDecoder(sp *speaker, codec transport.Codec, reset bool) bool {
	if sp.dec == nil || sp.decCodec != codec {
		dec, err := NewFrameDecoder(codec)
		if err != nil {
			p.warn("decoder:"+string(codec), "cannot decode a track; it stays silent", "speaker", sp.id, "codec", codec, "err", err)
			return false
		}
		sp.dec, sp.decCodec, sp.unsupported = dec, codec, false
		sp.decoding, sp.lastLen = false, FrameSamples
	} else if reset {
		if err := sp.dec.Reset(); err != nil {
			p.warn("decoder", "decoder reset failed", "speaker", sp.id, "err", err)
		}
		sp.decoding, sp.lastLen = false, FrameSamples
	}
	return true
}

// fill appends pl, which is not PlayIdle, to sp's carry: the packet decoded, or
// concealed. It reports whether a packet was decoded.
func (p *Pipeline) fill(sp *speaker, pl Playout) bool {
	p.lost.Add(uint64(pl.Lost))
	switch pl.Kind {
	case PlayFrame:
		if sd, ok := sp.dec.(SetupDecoder); ok {
			sd.SetSetup(pl.Frame.Setup)
		}
		n, err := sp.dec.Decode(pl.Frame.Payload, sp.pcm[sp.tail:])
		decoding := sp.decoding
		sp.decoding = err == nil && n > 0
		if err == nil && n == 0 {
			// A packet that only primes the decoder (the first of a Vorbis stream): it
			// lasts nothing, and a loss after it is concealed as long as the last one.
			sp.decoding = true
			return true
		}
		if sp.decoding {
			sp.tail += n
			sp.lastLen = n
			return true
		}
		if errors.Is(err, ErrUnsupportedCodec) && !decoding {
			// The stream is in a form the decoder does not take (HE-AAC): say so once,
			// and do not count its frames as lost to the network. Right after a packet
			// that decoded, such an error is more likely garbage that looks like it.
			if !sp.unsupported {
				sp.unsupported = true
				p.log.Warn("cannot decode a track's stream; it is silent while this lasts", "speaker", sp.id, "codec", sp.decCodec, "err", err)
			}
		} else {
			p.lost.Add(1)
		}
		p.conceal(sp, nil, sp.lastLen)
	case PlayLost:
		p.conceal(sp, pl.FEC, sp.lastLen)
	default:
		p.conceal(sp, nil, FrameSamples)
	}
	return false
}

// conceal appends n samples for a missing packet to sp's carry, silence if even
// concealment fails.
func (p *Pipeline) conceal(sp *speaker, next []byte, n int) {
	pcm := sp.pcm[sp.tail : sp.tail+n]
	if err := sp.dec.Conceal(next, pcm); err != nil {
		clear(pcm)
	}
	sp.tail += n
}

// warn logs at most one warning of a kind every warnEvery. Playout goroutine only.
func (p *Pipeline) warn(kind, msg string, args ...any) {
	now := p.clock.Now()
	if last, ok := p.warned[kind]; ok && now.Sub(last) < warnEvery {
		return
	}
	p.warned[kind] = now
	p.log.Warn(msg, args...)
}
