package httpstream

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacetui/spacetui/transport"
)

// aac.ts is FFmpeg's MPEG-TS of the demo room's first second (-c:a aac -ar 48000 -ac 2
// -b:a 96k -f mpegts): a PAT, a PMT with one ADTS stream (0x0f) and 48 AAC frames.

// tsAudioPackets returns the offsets of the packets of the audio PID in b.
func tsAudioPackets(t *testing.T, b []byte) []int {
	t.Helper()
	var offs []int
	for off := 0; off+tsPacketLen <= len(b); off += tsPacketLen {
		if pid := int(b[off+1]&0x1f)<<8 | int(b[off+2]); pid == 0x100 {
			offs = append(offs, off)
		}
	}
	if len(offs) < 10 {
		t.Fatalf("%d audio packets", len(offs))
	}
	return offs
}

// without returns b without the packet at off.
func without(b []byte, off int) []byte {
	return append(bytes.Clone(b[:off]), b[off+tsPacketLen:]...)
}

func TestTSDemux(t *testing.T) {
	ts := readES(t, "aac.ts")
	if !isTS(ts) {
		t.Fatal("not taken for MPEG-TS")
	}
	var clk sampleClock
	whole, err := tsPackets(ts, &clk)
	if err != nil {
		t.Fatal(err)
	}
	checkFrames(t, whole, 48, transport.CodecAAC, 48000, 1024)
	if clk.pos() != 48*1024 {
		t.Errorf("the clock ends at %d, want %d: the next segment goes on from there", clk.pos(), 48*1024)
	}
	audio := tsAudioPackets(t, ts)

	t.Run("duplicate packet", func(t *testing.T) {
		off := audio[5]
		dup := append(append(bytes.Clone(ts[:off+tsPacketLen]), ts[off:off+tsPacketLen]...), ts[off+tsPacketLen:]...)
		ps, err := tsPackets(dup, &sampleClock{})
		if err != nil || len(ps) != 48 {
			t.Errorf("%d frames, %v; want the 48, the duplicate dropped", len(ps), err)
		}
	})

	t.Run("continuity gap", func(t *testing.T) {
		// A packet of the middle PES is lost: that PES is dropped, and the next starts a
		// run marked lost, placed by its timestamp.
		ps, err := tsPackets(without(ts, audio[len(audio)/2]), &sampleClock{})
		if err != nil {
			t.Fatal(err)
		}
		checkAfterLoss(t, ps, whole)
	})

	t.Run("lost sync", func(t *testing.T) {
		bad := bytes.Clone(ts)
		bad[audio[3]] = 0x00 // not a sync byte: the demuxer finds the next packet
		ps, err := tsPackets(bad, &sampleClock{})
		if err != nil {
			t.Fatal(err)
		}
		checkAfterLoss(t, ps, whole)
	})

	t.Run("no audio it plays", func(t *testing.T) {
		// The PMTs name the audio stream AC-3 (0x81) instead.
		other := bytes.Clone(ts)
		n := 0
		for pmt := 0; pmt < len(other); pmt += tsPacketLen {
			if other[pmt+1]&0x1f == 0x10 && other[pmt+2] == 0x00 { // FFmpeg's PMT PID, 0x1000
				if i := bytes.Index(other[pmt:pmt+tsPacketLen], []byte{0x0f, 0xe1, 0x00}); i > 0 {
					other[pmt+i] = 0x81
					n++
				}
			}
		}
		if n == 0 {
			t.Fatal("no ADTS stream in a PMT")
		}
		if _, err := tsPackets(other, &sampleClock{}); !errors.Is(err, transport.ErrProtocol) {
			t.Errorf("err %v, want a refusal", err)
		}
	})
}

// checkAfterLoss wants fewer frames than whole has, the first after the loss marked
// lost, and each from there on where whole has it.
func checkAfterLoss(t *testing.T, ps, whole []packet) {
	t.Helper()
	lost := -1
	for i, p := range ps {
		if p.lost {
			lost = i
		}
	}
	if len(ps) >= len(whole) || lost < 0 {
		t.Fatalf("%d frames, the first after the loss at %d: want fewer than %d, one marked lost", len(ps), lost, len(whole))
	}
	for i := lost; i < len(ps); i++ {
		j := i + len(whole) - len(ps)
		if ps[i].pos != whole[j].pos || !bytes.Equal(ps[i].data, whole[j].data) {
			t.Fatalf("frame %d at %d, want frame %d at %d", i, ps[i].pos, j, whole[j].pos)
		}
	}
}
