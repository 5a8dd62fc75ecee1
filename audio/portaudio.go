//go:build cgo

package audio

/*
#cgo pkg-config: portaudio-2.0
#include <portaudio.h>
*/
import "C"

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
	"unsafe"

	"github.com/gordonklaus/portaudio"
)

// PortAudio output tuning.
const (
	minDeviceLatency = 40 * time.Millisecond // device buffer, at least
	// 10 ms callbacks: an unspecified size lets ALSA's pulse plugin call back every few
	// milliseconds. The callback is C, so this costs only the audio thread's wake-ups.
	callbackFrames = FrameSamples / 2
	ringTargetFill = 3 * FrameSamples     // Write blocks while 60 ms or more are queued
	ringSize       = 16 * FrameSamples    // room for bursts; a power of two is taken
	writePoll      = 2 * time.Millisecond // the shortest wait of a blocked Write
	stallTimeout   = 2 * time.Second      // no samples taken for this long: the device is gone
)

// paMu serializes PortAudio's global initialization: Initialize and Terminate are
// reference counted by PortAudio but not thread-safe.
var paMu sync.Mutex

// quietOnce silences the sound libraries' probing before PortAudio first initializes.
var quietOnce sync.Once

// initPortAudio initializes PortAudio; every success is paired with terminatePortAudio.
func initPortAudio() error {
	paMu.Lock()
	defer paMu.Unlock()
	if os.Getenv("JACK_NO_START_SERVER") == "" {
		// JACK must not start a server just because we probe for devices.
		_ = os.Setenv("JACK_NO_START_SERVER", "1")
	}
	quietOnce.Do(quietSoundLibraries)
	if err := portaudio.Initialize(); err != nil {
		return fmt.Errorf("portaudio: %w", err)
	}
	return nil
}

func terminatePortAudio() error {
	paMu.Lock()
	defer paMu.Unlock()
	return portaudio.Terminate()
}

// Devices lists the audio output devices. It initializes PortAudio for the call.
func Devices() ([]Device, error) {
	if err := initPortAudio(); err != nil {
		return nil, err
	}
	defer func() { _ = terminatePortAudio() }()
	devs, _, err := outputDevices()
	return devs, err
}

// outputDevices lists output devices, with the PortAudio handle of each.
func outputDevices() ([]Device, []*portaudio.DeviceInfo, error) {
	all, err := portaudio.Devices()
	if err != nil {
		return nil, nil, fmt.Errorf("portaudio devices: %w", err)
	}
	def, _ := portaudio.DefaultOutputDevice() // none is fine: there is no default
	var devs []Device
	var infos []*portaudio.DeviceInfo
	for _, d := range all {
		if d.MaxOutputChannels < 1 {
			continue
		}
		api := ""
		if d.HostApi != nil {
			api = d.HostApi.Name
		}
		devs = append(devs, Device{Name: d.Name, HostAPI: api, Default: d == def, Latency: d.DefaultHighOutputLatency})
		infos = append(infos, d)
	}
	return devs, infos, nil
}

// portAudioSink plays through a PortAudio output stream. Write fills a ring that the
// stream's callback, in C, drains on the audio thread.
type portAudioSink struct {
	name   string
	stream unsafe.Pointer // a PaStream
	ring   *ring

	closeOnce sync.Once
	closeErr  error
}

var _ Sink = (*portAudioSink)(nil)

// openDevice opens a PortAudio output stream on the named device, or the default one.
func openDevice(name string) (Sink, error) {
	if err := initPortAudio(); err != nil {
		return nil, err
	}
	s, err := openStream(name)
	if err != nil {
		_ = terminatePortAudio()
		return nil, err
	}
	return s, nil
}

func openStream(name string) (*portAudioSink, error) {
	devs, infos, err := outputDevices()
	if err != nil {
		return nil, err
	}
	var info *portaudio.DeviceInfo
	if name == "" {
		if info, err = portaudio.DefaultOutputDevice(); err != nil || info == nil {
			return nil, fmt.Errorf("%w: %v", ErrNoDevice, err)
		}
	} else {
		d, err := matchDevice(devs, name)
		if err != nil {
			return nil, err
		}
		for i := range devs {
			if devs[i] == d {
				info = infos[i]
			}
		}
	}
	q, err := newRing(ringSize)
	if err != nil {
		return nil, err
	}
	stream, perr := q.open(info.Index, max(info.DefaultHighOutputLatency, minDeviceLatency), callbackFrames)
	if perr != C.paNoError {
		q.free()
		return nil, fmt.Errorf("open %q: %w", info.Name, paError(perr))
	}
	if perr := C.Pa_StartStream(stream); perr != C.paNoError {
		C.Pa_CloseStream(stream)
		q.free()
		return nil, fmt.Errorf("start %q: %w", info.Name, paError(perr))
	}
	return &portAudioSink{name: info.Name, stream: stream, ring: q}, nil
}

// paError turns a PortAudio error code into an error, with the host API's own message
// where PortAudio has only "unanticipated host error".
func paError(code C.PaError) error {
	if code == C.paUnanticipatedHostError {
		if info := C.Pa_GetLastHostErrorInfo(); info != nil && info.errorText != nil {
			return fmt.Errorf("portaudio: %s", C.GoString(info.errorText))
		}
	}
	return fmt.Errorf("portaudio: %s", C.GoString(C.Pa_GetErrorText(code)))
}

// Write queues pcm once the ring holds less than its target fill, polling while the
// device plays what is queued.
func (s *portAudioSink) Write(ctx context.Context, pcm []int16) error {
	var timer *time.Timer
	lastRead, lastMove := s.ring.readPosition(), time.Now()
	for {
		if s.ring.buffered()+len(pcm) <= ringTargetFill {
			s.ring.write(pcm) // fits: the ring is larger than its target fill
			return nil
		}
		if r := s.ring.readPosition(); r != lastRead {
			lastRead, lastMove = r, time.Now()
		} else if time.Since(lastMove) > stallTimeout {
			return fmt.Errorf("%w: %q took nothing for %v", ErrDeviceStalled, s.name, stallTimeout)
		}
		// Sleep until the device should have played enough to make room, rather than
		// polling: fewer wake-ups, and the device clock still decides.
		wait := max(samplesToDuration(int64(s.ring.buffered()+len(pcm)-ringTargetFill)), writePoll)
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// Underruns counts the callbacks that found the ring dry after playback began.
func (s *portAudioSink) Underruns() uint64 { return s.ring.underruns() }

func (s *portAudioSink) Close() error {
	s.closeOnce.Do(func() {
		var err error
		if perr := C.Pa_AbortStream(s.stream); perr != C.paNoError {
			err = paError(perr)
		}
		if perr := C.Pa_CloseStream(s.stream); perr != C.paNoError && err == nil {
			err = paError(perr)
		}
		s.ring.free() // the callback is gone with the stream
		if terr := terminatePortAudio(); err == nil {
			err = terr
		}
		if err != nil {
			s.closeErr = fmt.Errorf("close %q: %w", s.name, err)
		}
	})
	return s.closeErr
}

func (s *portAudioSink) Name() string { return s.name }
