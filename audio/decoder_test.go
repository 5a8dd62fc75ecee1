//go:build cgo

package audio

import (
	"errors"
	"math"
	"testing"

	"gopkg.in/hraban/opus.v2"
)

// encodeTone encodes frames of a 440 Hz tone at amplitude amp into 20 ms packets, with
// in-band FEC as a lossy network would want.
func encodeTone(t testing.TB, frames int, amp float64) [][]byte {
	t.Helper()
	return encodeTonePackets(t, frames, amp, FrameSamples)
}

// encodeTonePackets is encodeTone with packets of size samples (2.5 to 60 ms).
func encodeTonePackets(t testing.TB, frames int, amp float64, size int) [][]byte {
	t.Helper()
	enc, err := opus.NewEncoder(SampleRate, 1, opus.AppVoIP)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetInBandFEC(true); err != nil {
		t.Fatal(err)
	}
	if err := enc.SetPacketLossPerc(10); err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	pcm := make([]int16, size)
	buf := make([]byte, 1500)
	for f := 0; f < frames; f++ {
		for i := range pcm {
			n := f*size + i
			pcm[i] = int16(amp * 32767 * math.Sin(2*math.Pi*440*float64(n)/SampleRate))
		}
		n, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, append([]byte(nil), buf[:n]...))
	}
	return pkts
}

func TestSilencePacketDecodesToSilence(t *testing.T) {
	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, decodeSamples)
	n, err := d.Decode(SilencePacket(), pcm)
	if err != nil || n != FrameSamples {
		t.Fatalf("Decode = %d, %v", n, err)
	}
	for i, v := range pcm[:n] {
		if v != 0 {
			t.Fatalf("sample %d = %d, want silence", i, v)
		}
	}
}

func TestDecoderConceals(t *testing.T) {
	pkts := encodeTone(t, 20, 0.3)
	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, decodeSamples)
	for _, p := range pkts[:10] {
		if _, err := d.Decode(p, pcm); err != nil {
			t.Fatal(err)
		}
	}
	// Packet 10 is lost; packet 11 carries its FEC.
	if err := d.Conceal(pkts[11], pcm[:FrameSamples]); err != nil {
		t.Fatal(err)
	}
	if l := Level(pcm[:FrameSamples]); l < 0.5 {
		t.Errorf("FEC frame level %.2f, want the tone", l)
	}
	if err := d.Conceal(nil, pcm[:FrameSamples]); err != nil {
		t.Fatal(err)
	}
	if l := Level(pcm[:FrameSamples]); l < 0.3 {
		t.Errorf("PLC frame level %.2f, want the tone fading", l)
	}
	// A malformed FEC source falls back to PLC instead of failing.
	if err := d.Conceal([]byte{0xfb}, pcm[:FrameSamples]); err != nil {
		t.Errorf("Conceal with a malformed next packet: %v", err)
	}
}

func TestDecoderRejectsMalformed(t *testing.T) {
	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, decodeSamples)
	for _, p := range [][]byte{nil, {0xfb}, {0xfb, 0x00}, {0xfa, 200, 1}} {
		if _, err := d.Decode(p, pcm); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("Decode(%x) = %v, want ErrInvalidPacket", p, err)
		}
	}
	if _, err := d.Decode(SilencePacket(), pcm[:100]); !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("Decode into a short buffer: %v", err)
	}
	if err := d.Reset(); err != nil {
		t.Fatal(err)
	}
}

// FuzzDecoder feeds arbitrary bytes to the decoder: it must never crash.
func FuzzDecoder(f *testing.F) {
	f.Add(SilencePacket())
	f.Add([]byte{0x4b, 0x41, 0x01, 0xff})
	f.Add([]byte{0xfb, 0x83, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8})
	d, err := NewDecoder()
	if err != nil {
		f.Fatal(err)
	}
	pcm := make([]int16, decodeSamples)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		if n, err := d.Decode(pkt, pcm); err != nil {
			if cerr := d.Conceal(pkt, pcm[:FrameSamples]); cerr != nil {
				t.Fatal(cerr)
			}
		} else if n > len(pcm) {
			t.Fatalf("decoded %d samples", n)
		}
	})
}

// BenchmarkDecodeOpus decodes one 20 ms packet of a tone, the baseline for
// BenchmarkDecodeAAC and BenchmarkDecodeMP3.
func BenchmarkDecodeOpus(b *testing.B) {
	pkts := encodeTone(b, 50, 0.3)
	d, err := NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	pcm := make([]int16, decodeSamples)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := d.Decode(pkts[i%len(pkts)], pcm); err != nil {
			b.Fatal(err)
		}
	}
}
