//go:build cgo

package audio

import (
	"math"
	"testing"
)

func TestEncoderRoundTrip(t *testing.T) {
	enc, err := NewEncoder(32000)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, FrameSamples)
	out := make([]int16, FrameSamples)
	var level float64
	for n := 0; n < 10; n++ {
		for i := range pcm {
			pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(n*FrameSamples+i)/SampleRate))
		}
		pkt, err := enc.Encode(pcm)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := PacketSamples(pkt); err != nil || s != FrameSamples {
			t.Fatalf("packet of %d samples, err %v", s, err)
		}
		if _, err := dec.Decode(pkt, out); err != nil {
			t.Fatal(err)
		}
		level = Level(out)
	}
	if level < 0.3 {
		t.Fatalf("decoded tone level %.2f: the encoder lost the signal", level)
	}
}
