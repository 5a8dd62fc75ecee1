package audio

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/fakeclock"
)

// TestNullSinkPacesAtAbsoluteTimes checks that frame n is released at start + n*20 ms
// however long the caller took between writes: no cumulative drift.
func TestNullSinkPacesAtAbsoluteTimes(t *testing.T) {
	clock := fakeclock.New(t0)
	s := NewNullSink(clock)
	frame := make([]int16, FrameSamples)
	ctx := context.Background()
	for n := 0; n < 1000; n++ {
		clock.Advance(time.Duration(n%7) * 2 * time.Millisecond) // work between writes
		if err := s.Write(ctx, frame); err != nil {
			t.Fatal(err)
		}
		if want := t0.Add(time.Duration(n) * FrameDuration); !clock.Now().Equal(want) && n > 0 {
			t.Fatalf("frame %d released at %v, want %v", n, clock.Now().Sub(t0), want.Sub(t0))
		}
	}
	// Falling far behind (a suspended machine) starts afresh instead of rushing.
	clock.Advance(5 * time.Second)
	before := clock.Now()
	for n := 0; n < 3; n++ {
		if err := s.Write(ctx, frame); err != nil {
			t.Fatal(err)
		}
	}
	if got := clock.Now().Sub(before); got != 2*FrameDuration {
		t.Errorf("after a stall three writes took %v, want 40ms", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, frame); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
}

func TestNullSinkHonoursContext(t *testing.T) {
	s := NewNullSink(nil)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	frame := make([]int16, FrameSamples)
	if err := s.Write(ctx, frame); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := s.Write(ctx, frame); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a cancelled context: %v", err)
	}
}

func TestWAVSink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.wav")
	s, err := OpenSink("wav:" + path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "wav:"+path {
		t.Errorf("Name = %q", s.Name())
	}
	s.Close() // replace it with one on a fake clock, so the test does not wait
	clock := fakeclock.New(t0)
	s, err = NewWAVSink(path, clock)
	if err != nil {
		t.Fatal(err)
	}
	tone := sine(0.5, FrameSamples)
	for i := 0; i < 50; i++ { // 1 s
		if err := s.Write(context.Background(), tone); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50 * FrameSamples * 2
	if len(data) != wavHeaderLen+n || string(data[:4]) != "RIFF" || string(data[8:16]) != "WAVEfmt " {
		t.Fatalf("file is %d bytes, header %q", len(data), data[:16])
	}
	if got := binary.LittleEndian.Uint32(data[40:]); got != n {
		t.Errorf("data size %d, want %d", got, n)
	}
	if got := int16(binary.LittleEndian.Uint16(data[wavHeaderLen+2*10:])); got != tone[10] {
		t.Errorf("sample 10 = %d, want %d", got, tone[10])
	}
	if _, err := exec.LookPath("soxi"); err == nil {
		out, err := exec.Command("soxi", "-D", path).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "1.000000" {
			t.Errorf("soxi -D: %s %v, want 1.000000", out, err)
		}
	}
}

func TestOpenSinkSpecs(t *testing.T) {
	s, err := OpenSink("null")
	if err != nil || s.Name() != "null" {
		t.Fatalf("null: %v %v", s, err)
	}
	s.Close()
	if _, err := OpenSink("wav:"); !errors.Is(err, ErrBadSinkSpec) {
		t.Errorf("wav without a path: %v, want ErrBadSinkSpec", err)
	}
	if _, err := OpenSink("wav:" + filepath.Join(t.TempDir(), "no", "such", "dir.wav")); err == nil {
		t.Error("wav in a missing directory opened")
	}
}

func TestMatchDevice(t *testing.T) {
	devs := []Device{
		{Name: "pulse", HostAPI: "ALSA"},
		{Name: "default", HostAPI: "ALSA", Default: true},
		{Name: "HDA Intel PCH: ALC3246 Analog (hw:0,0)", HostAPI: "ALSA"},
		{Name: "HDA Intel PCH: HDMI 0 (hw:0,3)", HostAPI: "ALSA"},
	}
	tests := []struct {
		name, want string
		err        error
	}{
		{"pulse", "pulse", nil},
		{"default", "default", nil},
		{"alc3246", "HDA Intel PCH: ALC3246 Analog (hw:0,0)", nil},
		{"HDMI", "HDA Intel PCH: HDMI 0 (hw:0,3)", nil},
		{"HDA", "", ErrAmbiguousDevice},
		{"usb headset", "", ErrUnknownDevice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := matchDevice(devs, tt.name)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if tt.err == ErrUnknownDevice && !strings.Contains(err.Error(), `"pulse"`) {
					t.Errorf("error %q does not list the devices", err)
				}
				return
			}
			if err != nil || d.Name != tt.want {
				t.Fatalf("got %q, %v; want %q", d.Name, err, tt.want)
			}
		})
	}
	if s := devs[1].String(); s != "default (ALSA) [default]" {
		t.Errorf("String = %q", s)
	}
}
