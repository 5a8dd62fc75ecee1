package audio

import (
	"errors"
	"math/bits"
	"testing"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// The headers of libvorbis's files read as they are: rate, channels, block sizes, the
// comments, and the modes' block flags (a short and a long mode).
func TestParseVorbisHeaders(t *testing.T) {
	for _, tc := range []struct {
		name           string
		rate, channels int
	}{{"sine440-48k-stereo.ogg", 48000, 2}, {"sine1k-44k-mono.ogg", 44100, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			h := readVorbisFile(t, tc.name).h
			if h.Rate != tc.rate || h.Channels != tc.channels || h.Blocksize != [2]int{256, 2048} ||
				len(h.longMode) != 2 || h.longMode[0] || !h.longMode[1] {
				t.Errorf("headers %+v", h)
			}
			if h.Samples(false, true) != 64+512 || h.MaxSamples() != 1024 {
				t.Errorf("a long block after a short one: %d samples", h.Samples(false, true))
			}
		})
	}
}

// Setup round-trips through its lacing, headers over 255 bytes included.
func TestVorbisSetupLacing(t *testing.T) {
	vf := readVorbisFile(t, "sine1k-44k-mono.ogg")
	id, comment, setup, err := SplitVorbisSetup(vf.setup)
	if err != nil {
		t.Fatal(err)
	}
	long := append(append([]byte{}, comment...), make([]byte, 600)...)
	id2, comment2, setup2, err := SplitVorbisSetup(PackVorbisSetup(id, long, setup))
	if err != nil || string(id2) != string(id) || string(comment2) != string(long) || string(setup2) != string(setup) {
		t.Errorf("split %d, %d, %d bytes, %v; want %d, %d, %d", len(id2), len(comment2), len(setup2), err, len(id), len(long), len(setup))
	}
	for _, bad := range [][]byte{nil, {2}, {2, 255}, {2, 10, 10, 1}, {1, 0}} {
		if _, _, _, err := SplitVorbisSetup(bad); !errors.Is(err, ErrBadVorbis) {
			t.Errorf("SplitVorbisSetup(%x) = %v; want ErrBadVorbis", bad, err)
		}
	}
}

// lsbWriter writes bits least significant first, as Vorbis packs them.
type lsbWriter struct {
	b []byte
	n int
}

func (w *lsbWriter) put(v uint32, bits int) *lsbWriter {
	for i := range bits {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (w.n % 8)
		w.n++
	}
	return w
}

// hostileSetup is a setup header of one codebook, of dims dimensions and entries
// entries, all of codeword length length (ordered), with a value lookup of type 1 when
// vq; then the least of the rest: a floor 1 of no partitions, a residue of no books, a
// mapping and a short mode. With a sound codebook it parses: what is refused is the
// codebook.
func hostileSetup(dims, entries, length uint32, vq bool) []byte {
	w := &lsbWriter{b: []byte("\x05vorbis"), n: 56}
	w.put(0, 8).put(vorbisCodebookTag, 24).put(dims, 16).put(entries, 24)
	w.put(1, 1).put(length-1, 5).put(entries, bits.Len32(entries)) // ordered: every entry of one length
	if vq {
		w.put(1, 4).put(0, 32).put(0, 32).put(0, 4).put(0, 1).put(0, lookup1Values(int(entries), int(dims)))
	} else {
		w.put(0, 4)
	}
	w.put(0, 6).put(0, 16)                                              // one time domain transform
	w.put(0, 6).put(1, 16).put(0, 5).put(0, 2).put(0, 4)                // one floor 1
	w.put(0, 6).put(0, 16).put(0, 24*3).put(0, 6).put(0, 8).put(0, 3+1) // one residue
	w.put(0, 6).put(0, 16).put(0, 1+1+2).put(0, 8*3)                    // one mapping
	w.put(0, 6).put(0, 1+16+16+8)                                       // one short mode
	return w.put(1, 1).b
}

// A setup header that would have jfreymuth/vorbis allocate without bound, divide by
// zero or loop for ever is refused, quickly; so is every prefix of a real one.
func TestParseVorbisHeadersRefusesHostileSetups(t *testing.T) {
	vf := readVorbisFile(t, "sine440-48k-stereo.ogg")
	id, comment, setup, err := SplitVorbisSetup(vf.setup)
	if err != nil {
		t.Fatal(err)
	}
	for _, sound := range [][]byte{hostileSetup(1, 2, 1, false), hostileSetup(4, 1<<10, 10, true), hostileSetup(1, 1, 3, false)} {
		if _, err := ParseVorbisHeaders(id, comment, sound); err != nil {
			t.Fatalf("a sound setup header: %v", err)
		}
	}
	for _, tc := range []struct {
		name  string
		setup []byte
	}{
		{"2^20 entries", hostileSetup(1, 1<<20, 20, false)},
		{"2^21 values", hostileSetup(16, 1<<17, 17, true)},
		{"no dimensions", hostileSetup(0, 2, 1, false)},
		{"no entries", hostileSetup(1, 0, 1, false)},
		// Three entries of length 2: a hole in the tree, where zeros lead nowhere.
		{"incomplete tree", hostileSetup(1, 3, 2, false)},
		{"overfull tree", hostileSetup(1, 3, 1, false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			if _, err := ParseVorbisHeaders(id, comment, tc.setup); !errors.Is(err, ErrBadVorbis) {
				t.Errorf("got %v, want ErrBadVorbis", err)
			}
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("took %v", d)
			}
		})
	}
	for n := range len(setup) {
		if _, err := ParseVorbisHeaders(id, comment, setup[:n]); !errors.Is(err, ErrBadVorbis) {
			t.Fatalf("the setup header cut at %d of %d bytes: %v", n, len(setup), err)
		}
	}
}

// FuzzVorbisSetup feeds the decoder setup headers a fuzzer made of a real one: what
// ParseVorbisHeaders passes must decode the stream's packets without a panic, a hang
// or an unbounded allocation, and anything else must be refused as such.
func FuzzVorbisSetup(f *testing.F) {
	vf := readVorbisFile(f, "sine440-48k-stereo.ogg")
	id, comment, setup, err := SplitVorbisSetup(vf.setup)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(setup)
	f.Add(hostileSetup(1, 3, 2, false))
	pcm := make([]int16, decodeSamples)
	f.Fuzz(func(t *testing.T, setup []byte) {
		packed := PackVorbisSetup(id, comment, setup)
		d := newFrameDecoder(t, transport.CodecVorbis)
		for _, p := range vf.pkts[:8] {
			d.(SetupDecoder).SetSetup(packed)
			if _, err := d.Decode(p, pcm); err != nil && !errors.Is(err, ErrCorruptFrame) && !errors.Is(err, ErrUnsupportedCodec) {
				t.Fatalf("unclassed error %v", err)
			}
		}
	})
}
