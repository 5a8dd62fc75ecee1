package audio

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// s16 packs samples as interleaved little-endian 16-bit PCM.
func s16(samples ...int16) []byte {
	b := make([]byte, 0, 2*len(samples))
	for _, v := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

// The resampler interpolates on a straight line between input samples: a ramp comes out
// a ramp, sample for sample, with the silent sample before the stream at its foot.
func TestResamplerInterpolates(t *testing.T) {
	for _, rate := range []int{7350, 8000, 22050, 24000, 44100, 64000, 96000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			in := make([]int16, 2000)
			for i := range in {
				in[i] = int16(10 * (i + 1)) // 10 per input sample from the silent one before
			}
			var r resampler
			out := make([]int16, 20000)
			n, err := r.convert(s16(in...), 1, rate, out)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range out[:n] {
				if want := int16(10 * k * rate / SampleRate); v != want {
					t.Fatalf("sample %d = %d, want %d", k, v, want)
				}
			}
		})
	}
}

// However the input is cut into packets, the output is the same, and after every packet
// exactly ceil(n·48000/rate) samples have come out for the n that went in: no seams, and
// no drift over time.
func TestResamplerDoesNotDrift(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]int16, 10*44100) // ten seconds at 44.1 kHz, and more at lower rates
	for i := range in {
		in[i] = int16(rng.IntN(20000) - 10000)
	}
	for _, rate := range []int{8000, 11025, 22050, 32000, 44100, 88200} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			var whole resampler
			want := make([]int16, len(in)*SampleRate/8000+1)
			n, err := whole.convert(s16(in...), 1, rate, want)
			if err != nil {
				t.Fatal(err)
			}
			want = want[:n]

			var r resampler
			var got []int16
			buf := make([]int16, 8000) // a frame of 1024 at 8 kHz is 6144 at 48
			for done := 0; done < len(in); {
				size := min(576+rng.IntN(449), len(in)-done) // an MP3 or AAC frame
				n, err := r.convert(s16(in[done:done+size]...), 1, rate, buf)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, buf[:n]...)
				done += size
				if wantN := (done*SampleRate + rate - 1) / rate; len(got) != wantN {
					t.Fatalf("after %d input samples, %d out, want %d", done, len(got), wantN)
				}
			}
			if !slices.Equal(got, want) {
				t.Error("packet by packet differs from all at once")
			}
		})
	}
}

func TestResamplerMixesDown(t *testing.T) {
	var r resampler
	out := make([]int16, 8)
	n, err := r.convert(s16(32767, 32767, -32768, -32768, 32767, -32768, 1000, 3000), 2, SampleRate, out)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int16{32767, -32768, -1, 2000}; !slices.Equal(out[:n], want) {
		t.Errorf("mixed down to %v, want %v", out[:n], want)
	}
	// At 48 kHz a mono stream passes as it is, also after another rate.
	if _, err := r.convert(s16(1, 2, 3), 1, 44100, out); err != nil {
		t.Fatal(err)
	}
	n, err = r.convert(s16(5, 6, 7), 1, SampleRate, out)
	if err != nil || !slices.Equal(out[:n], []int16{5, 6, 7}) {
		t.Errorf("at 48 kHz: %v, %v", out[:n], err)
	}
}

// A packet whose output would not fit is refused whole, and the stream goes on as if it
// had not been offered.
func TestResamplerRefusesWhatDoesNotFit(t *testing.T) {
	silence := s16(make([]int16, 1024)...)
	out := make([]int16, 7000)
	for _, c := range []struct {
		rate int
		room int
	}{{SampleRate, 1023}, {44100, 1114}, {8000, 6143}} {
		var r resampler
		if n, err := r.convert(silence, 1, c.rate, out[:c.room]); err == nil {
			t.Errorf("%d Hz into %d: %d samples, want an error", c.rate, c.room, n)
		}
	}
	var r, clean resampler
	for _, pkt := range [][]byte{s16(100, 200, 300), silence, s16(400, 500)} {
		got, err := r.convert(pkt, 1, 8000, out[:20])
		if len(pkt) == len(silence) {
			if err == nil {
				t.Fatal("1024 samples at 8 kHz fit in 20")
			}
			continue
		}
		want, _ := clean.convert(pkt, 1, 8000, out[20:40])
		if err != nil || !slices.Equal(out[:got], out[20:20+want]) {
			t.Fatalf("after a refusal %v (%v), from a clean stream %v", out[:got], err, out[20:20+want])
		}
	}
}
