package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
	_ "github.com/spacetui/spacetui/transport/ws" // the probe joins the clicks room
)

// The clicks room: a 100 ms 1 kHz burst every 2 s over a faint noise floor, so that any
// audio at all shows on the sink (first audio) and each burst can be timed where it is
// sent (a raw protocol probe) and where it is heard (a capture of the sink's monitor).
// A burst that comes out shorter or longer than it went in was cut or stretched inside
// sound: an audible correction or an underrun.
const (
	clickEvery  = 2 * time.Second
	clickLen    = 100 * time.Millisecond
	clicksLoop  = 20 * time.Second
	rate        = 48000
	loud        = 3277                   // a tenth of full scale: inside a burst (amplitude half of full scale)
	floor       = 30                     // above digital silence: the noise floor (about 100) or louder
	quietGap    = rate / 50              // samples of quiet that end a burst
	lengthSlack = 10 * time.Millisecond  // a burst this much shorter or longer is altered
	settleQuiet = 300 * time.Millisecond // silence on the sink before a player starts
)

// makeClicks writes the clicks room's Ogg Opus file with ffmpeg.
func makeClicks(dir string) (string, error) {
	path := filepath.Join(dir, "clicks.ogg")
	// Bursts sit in the middle of each period, away from the seam where the file loops
	// (a seam is no real room's audio: the decoder carries the file's end into its start).
	expr := fmt.Sprintf("0.003*(2*random(0)-1)+0.5*sin(2*PI*1000*t)*between(mod(t\\,%g)\\,%g\\,%g)",
		clickEvery.Seconds(), clickEvery.Seconds()/2, (clickEvery/2 + clickLen).Seconds())
	c := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
		fmt.Sprintf("aevalsrc=%s:s=%d:d=%g", expr, rate, clicksLoop.Seconds()),
		"-c:a", "libopus", "-b:a", "64k", "-ac", "1", path)
	if out, err := c.CombinedOutput(); err != nil {
		return "", fmt.Errorf("ffmpeg clicks: %v: %s", err, out)
	}
	return path, nil
}

// samples is d in samples at the room's rate.
func samples(d time.Duration) int64 { return int64(d) * rate / int64(time.Second) }

// bursts finds bursts in a 48 kHz stream given sample by sample at absolute indices.
type bursts struct {
	first     int64 // the first sample above the floor, or -1
	audibleAt int64 // the last sample above the floor
	loudAt    int64 // the last loud sample, or -1
	start     int64 // the first sample of the current burst
	onsets    []int64
	lengths   []int64 // of finished bursts, in samples
	inBurst   bool
	lastIndex int64
}

func newBursts() *bursts { return &bursts{first: -1, loudAt: -1} }

// feed adds pcm whose first sample is at index at.
func (b *bursts) feed(at int64, pcm []int16) {
	for i, s := range pcm {
		n := at + int64(i)
		a := int32(s)
		if a < 0 {
			a = -a
		}
		if a > floor {
			if b.first < 0 {
				b.first = n
			}
			b.audibleAt = n
		}
		if b.inBurst && n-b.loudAt > quietGap {
			b.lengths = append(b.lengths, b.loudAt-b.start+1)
			b.inBurst = false
		}
		if a > loud {
			if !b.inBurst {
				b.inBurst, b.start = true, n
				b.onsets = append(b.onsets, n)
			}
			b.loudAt = n
		}
		b.lastIndex = n
	}
}

// clock maps a stream's sample indices to wall time from the chunks it arrived in: a
// sample arrived with the chunk that ended at or after it, so it played no later than
// that arrival minus the audio after it in the chunk. The least of that over the next
// few chunks cancels a read that was scheduled late; chunks are kept, not one origin,
// because a capture that drops samples under load would skew a single origin.
type clock struct {
	ends     []int64 // the index after each chunk's last sample
	arrivals []time.Time
}

// clockSpan is how many chunks after a sample at considers.
const clockSpan = 8

func (c *clock) saw(arrival time.Time, endIndex int64) {
	c.ends = append(c.ends, endIndex)
	c.arrivals = append(c.arrivals, arrival)
}

func (c *clock) at(index int64) time.Time {
	k, _ := slices.BinarySearch(c.ends, index+1)
	var best time.Time
	for j := k; j < min(k+clockSpan, len(c.ends)); j++ {
		t := c.arrivals[j].Add(-time.Duration(c.ends[j]-index) * time.Second / rate)
		if best.IsZero() || t.Before(best) {
			best = t
		}
	}
	return best
}

// probe listens to the clicks room as a plain protocol client and times each burst as it
// arrives: the mouth end of mouth-to-ear.
type probe struct {
	mu     sync.Mutex
	clk    clock
	b      *bursts
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func startProbe(room string) (*probe, error) {
	u, dialer, err := transport.Lookup(room)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := dialer.Dial(ctx, u, transport.DialOptions{})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("probe: %w", err)
	}
	dec, err := audio.NewDecoder()
	if err != nil {
		cancel()
		conn.Close()
		return nil, err
	}
	p := &probe{b: newBursts(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer conn.Close()
		pcm := make([]int16, 120*rate/1000)
		var base uint32
		started := false
		for {
			ev, err := conn.Recv(ctx)
			if err != nil {
				if ctx.Err() == nil {
					p.err = err
				}
				return
			}
			f, ok := ev.(transport.AudioFrame)
			if !ok {
				continue
			}
			now := time.Now()
			n, err := dec.Decode(f.Payload, pcm)
			if err != nil {
				continue
			}
			if !started {
				base, started = f.Timestamp, true
			}
			at := int64(int32(f.Timestamp - base))
			p.mu.Lock()
			p.clk.saw(now, at+int64(n))
			p.b.feed(at, pcm[:n])
			p.mu.Unlock()
		}
	}()
	return p, nil
}

// onsetTimes returns the wall times of the bursts sent so far.
func (p *probe) onsetTimes() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := make([]time.Time, len(p.b.onsets))
	for i, o := range p.b.onsets {
		t[i] = p.clk.at(o)
	}
	return t
}

func (p *probe) stop() error {
	p.cancel()
	<-p.done
	return p.err
}

// capture records the sink's monitor with parec, timing each sample.
type capture struct {
	cmd     *exec.Cmd
	mu      sync.Mutex
	clk     clock
	b       *bursts
	started chan struct{}
	done    chan struct{}
}

func startCapture() (*capture, error) {
	c := &capture{b: newBursts(), started: make(chan struct{}), done: make(chan struct{})}
	c.cmd = exec.Command("parec", "-d", "@DEFAULT_MONITOR@", "--raw", "--format=s16le",
		"--rate="+strconv.Itoa(rate), "--channels=1", "--latency-msec=5")
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("parec: %w", err)
	}
	go func() {
		defer close(c.done)
		r := bufio.NewReaderSize(out, 1<<16)
		buf := make([]byte, 960)
		pcm := make([]int16, len(buf)/2)
		var n int64
		once := sync.Once{}
		for {
			k, err := io.ReadFull(r, buf)
			if k > 0 {
				now := time.Now()
				s := pcm[:k/2]
				for i := range s {
					s[i] = int16(binary.LittleEndian.Uint16(buf[2*i:]))
				}
				c.mu.Lock()
				c.clk.saw(now, n+int64(len(s)))
				c.b.feed(n, s)
				c.mu.Unlock()
				n += int64(len(s))
				once.Do(func() { close(c.started) })
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-c.started:
		return c, c.settle()
	case <-c.done:
		return nil, errors.New("parec gave no audio: is the sound server running (scripts/pulse-null.sh)?")
	case <-time.After(5 * time.Second):
		c.stop()
		return nil, errors.New("parec gave no audio within 5 s")
	}
}

// settle waits until the sink has been silent for a while (the player before may still
// be draining into it), then forgets what it heard, so that first audio is this run's.
func (c *capture) settle() error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		quiet := c.b.lastIndex - c.b.audibleAt
		if quiet >= samples(settleQuiet) {
			c.b = newBursts()
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			c.stop()
			return errors.New("the sink did not fall silent within 5 s: is another player using it?")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *capture) stop() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
	<-c.done
}

// heard is what one subject's run on the clicks room came to.
type heard struct {
	firstAudio  time.Duration   // start to the first sample above the floor; 0 if none
	mouthToEar  []time.Duration // per burst heard and matched to a burst sent
	pulse       time.Duration   // PulseAudio's stream (buffer) plus sink latency, from pactl
	bursts      int             // heard
	altered     int             // heard shorter or longer than sent
	missing     int             // sent while the subject played, never heard
	pulseLatErr error
}

// listen runs one subject on the clicks room for d with a capture, and matches the bursts
// it played with the bursts the probe saw sent.
func (b *bench) listen(s subject, dir string, p *probe) (heard, error) {
	capt, err := startCapture()
	if err != nil {
		return heard{}, err
	}
	defer capt.stop()
	t0 := time.Now()
	pid, stop, err := s.start(b, b.clicks, dir)
	if err != nil {
		return heard{}, err
	}
	time.Sleep(b.latencyFor / 2)
	var h heard
	h.pulse, h.pulseLatErr = pulseLatency(pid)
	time.Sleep(b.latencyFor - b.latencyFor/2)
	stop()

	capt.mu.Lock()
	defer capt.mu.Unlock()
	if capt.b.first >= 0 {
		h.firstAudio = capt.clk.at(capt.b.first).Sub(t0)
	}
	sent := p.onsetTimes()
	var firstSent, lastSent = -1, -1
	for i, o := range capt.b.onsets {
		if o-capt.b.first < samples(clickLen+20*time.Millisecond) {
			continue // joined inside a burst: only its tail was played
		}
		ear := capt.clk.at(o)
		k := matchSent(sent, ear)
		if k < 0 {
			continue
		}
		if firstSent < 0 {
			firstSent = k
		}
		lastSent = k
		h.mouthToEar = append(h.mouthToEar, ear.Sub(sent[k]))

		if i < len(capt.b.lengths) {
			h.bursts++
			got := time.Duration(capt.b.lengths[i]) * time.Second / rate
			if got < clickLen-lengthSlack || got > clickLen+lengthSlack {
				h.altered++
			}
		}
	}
	if firstSent >= 0 {
		h.missing = max(lastSent-firstSent+1-len(h.mouthToEar), 0)
	}
	return h, nil
}

// matchSent is the index of the last burst sent before ear, within one click period.
func matchSent(sent []time.Time, ear time.Time) int {
	for k := len(sent) - 1; k >= 0; k-- {
		if d := ear.Sub(sent[k]); d >= 0 {
			if d < clickEvery {
				return k
			}
			return -1
		}
	}
	return -1
}

// pulseLatency reads, from pactl, the buffer and sink latency of pid's playback stream.
func pulseLatency(pid int) (time.Duration, error) {
	out, err := exec.Command("pactl", "list", "sink-inputs").Output()
	if err != nil {
		return 0, err
	}
	for _, block := range strings.Split(string(out), "Sink Input #") {
		if !strings.Contains(block, fmt.Sprintf("application.process.id = %q", strconv.Itoa(pid))) {
			continue
		}
		var total time.Duration
		for _, key := range []string{"Buffer Latency:", "Sink Latency:"} {
			i := strings.Index(block, key)
			if i < 0 {
				return 0, fmt.Errorf("pactl: no %s", key)
			}
			f := strings.Fields(block[i+len(key):])
			if len(f) < 2 || f[1] != "usec" {
				return 0, fmt.Errorf("pactl: cannot read %s", key)
			}
			us, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, err
			}
			total += time.Duration(us) * time.Microsecond
		}
		return total, nil
	}
	return 0, fmt.Errorf("pactl: no playback stream of process %d", pid)
}

// latencyRuns times each player on the clicks room, interleaved run by run, with one
// probe listening throughout.
func (b *bench) latencyRuns(subjects []subject, present func(subject) bool, runs int, dir string, out io.Writer) (map[string][]heard, error) {
	p, err := startProbe(b.clicks.room)
	if err != nil {
		return nil, err
	}
	timed := map[string][]heard{}
	for r := range runs {
		for _, s := range subjects {
			if !s.player || !present(s) {
				continue
			}
			fmt.Fprintf(out, "clicks %d/%d: %s for %s\n", r+1, runs, s.name, b.latencyFor)
			h, err := b.listen(s, dir, p)
			if err != nil {
				return nil, fmt.Errorf("%s on the clicks room: %w", s.name, err)
			}
			timed[s.name] = append(timed[s.name], h)
		}
	}
	if err := p.stop(); err != nil {
		return nil, fmt.Errorf("the probe lost the clicks room: %w", err)
	}
	return timed, nil
}

// printLatency prints the clicks room's table: medians over runs (first audio, PulseAudio
// latency) and over every burst heard (mouth-to-ear), with totals of bursts.
func printLatency(out io.Writer, subjects []subject, timed map[string][]heard, missing map[string]string, d time.Duration, runs int) {
	fmt.Fprintf(out, "clicks room: a %s burst every %s; %d interleaved runs of %s each; times in ms\n",
		clickLen, clickEvery, runs, d)
	fmt.Fprintln(out, "mouth: a burst's arrival at a raw protocol probe; ear: its onset on the sink's monitor (parec)")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "subject\tfirst audio\tmouth-to-ear\t(min-max)\tPulseAudio stream+sink\town share\tbursts heard\taltered\tmissing\t")
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, s := range subjects {
		if !s.player {
			continue
		}
		hs := timed[s.name]
		if len(hs) == 0 {
			fmt.Fprintf(tw, "%s\tnot measured: %s\t\t\t\t\t\t\t\t\n", s.name, missing[s.name])
			continue
		}
		var first, m2e, pulse []float64
		heardN, altered, lost := 0, 0, 0
		for _, h := range hs {
			if h.firstAudio > 0 {
				first = append(first, ms(h.firstAudio))
			}
			for _, d := range h.mouthToEar {
				m2e = append(m2e, ms(d))
			}
			if h.pulseLatErr == nil {
				pulse = append(pulse, ms(h.pulse))
			}
			heardN, altered, lost = heardN+h.bursts, altered+h.altered, lost+h.missing
		}
		span := "-"
		if len(m2e) > 0 {
			span = fmt.Sprintf("(%.0f-%.0f)", slices.Min(m2e), slices.Max(m2e))
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s\t%.0f\t%.0f\t%d\t%d\t%d\t\n", s.name, median(first), median(m2e), span,
			median(pulse), median(m2e)-median(pulse), heardN, altered, lost)
	}
	_ = tw.Flush()
}

// checkLatency fails when spacetui cut, stretched or lost a burst: a correction or an
// underrun inside sound, which the jitter buffer and the sink must never make.
func checkLatency(subjects []subject, timed map[string][]heard) error {
	var bad []string
	for _, s := range subjects {
		if !s.player || !s.ours {
			continue
		}
		altered, lost := 0, 0
		for _, h := range timed[s.name] {
			altered, lost = altered+h.altered, lost+h.missing
		}
		if altered+lost > 0 {
			bad = append(bad, fmt.Sprintf("%s altered %d bursts and lost %d", s.name, altered, lost))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("audible corrections on the clicks room: %s", strings.Join(bad, "; "))
	}
	return nil
}
