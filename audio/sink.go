package audio

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Sink is where the mixed audio goes. The sink paces playout: Write blocks until the
// device can take the next frame, so whoever calls it runs at the device's clock.
type Sink interface {
	// Write queues mono 48 kHz samples, blocking until the device can take them or ctx
	// is done.
	Write(ctx context.Context, pcm []int16) error
	// Close stops the output and releases it; closing twice is a no-op.
	Close() error
	// Name says where the audio goes, for the status line.
	Name() string
}

// Device is an audio output device.
type Device struct {
	Name    string
	HostAPI string
	Default bool          // the host's default output
	Latency time.Duration // the device's default high output latency
}

// String describes the device for `spacetui devices`.
func (d Device) String() string {
	s := fmt.Sprintf("%s (%s)", d.Name, d.HostAPI)
	if d.Default {
		s += " [default]"
	}
	return s
}

// OpenSink opens an output by spec: "null" plays to nothing, "wav:PATH" writes a WAV
// file, "" or "default" is the default sound device, and anything else names a device
// (exactly, or by a part of its name that matches only one; see Devices). The null and
// WAV sinks pace playout at real time, and PortAudio is opened only for a device.
func OpenSink(spec string) (Sink, error) {
	switch {
	case spec == "null":
		return NewNullSink(nil), nil
	case strings.HasPrefix(spec, "wav:"):
		path := strings.TrimPrefix(spec, "wav:")
		if path == "" {
			return nil, fmt.Errorf("%w: %q needs a path, as in wav:out.wav", ErrBadSinkSpec, spec)
		}
		return NewWAVSink(path, nil)
	case spec == "" || spec == "default":
		return openDevice("")
	default:
		return openDevice(spec)
	}
}

// matchDevice picks the device name matches: an exact name, else the only device whose
// name contains it (ignoring case).
func matchDevice(devs []Device, name string) (Device, error) {
	var names, matches []string
	var found Device
	for _, d := range devs {
		if d.Name == name {
			return d, nil
		}
		names = append(names, d.Name)
		if strings.Contains(strings.ToLower(d.Name), strings.ToLower(name)) {
			matches = append(matches, d.Name)
			found = d
		}
	}
	switch len(matches) {
	case 1:
		return found, nil
	case 0:
		if len(names) == 0 {
			return Device{}, fmt.Errorf("%w %q: there are no output devices", ErrUnknownDevice, name)
		}
		return Device{}, fmt.Errorf("%w %q; devices: %s", ErrUnknownDevice, name, quoteJoin(names))
	default:
		return Device{}, fmt.Errorf("%w %q matches %s", ErrAmbiguousDevice, name, quoteJoin(matches))
	}
}

func quoteJoin(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// pacer releases frames at absolute times start + n*duration on a clock, so waiting
// never accumulates error. After a long stall (a suspended laptop) it starts afresh
// rather than rushing to catch up.
type pacer struct {
	clock   Clock
	started bool
	start   time.Time
	samples int64
}

// maxBehind is how late the pacer may fall before it starts afresh.
const maxBehind = 200 * time.Millisecond

// wait blocks until the slot for the next n samples has come.
func (p *pacer) wait(ctx context.Context, n int) error {
	now := p.clock.Now()
	if !p.started {
		p.started, p.start = true, now
	}
	due := p.start.Add(samplesToDuration(p.samples))
	if now.Sub(due) > maxBehind {
		p.start, p.samples, due = now, 0, now
	}
	p.samples += int64(n)
	if d := due.Sub(now); d > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.clock.After(d):
		}
	}
	return nil
}
