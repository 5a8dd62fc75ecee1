package record

import "testing"

// The AAC and MP3 track writers read the frames they can write silence after: for
// AAC, whole frames of audio in a channel configuration it has the elements of; for
// MP3, whole Layer III frames of MPEG-1, 2 and 2.5.
func TestRawFrameLength(t *testing.T) {
	adts := func(hdr ...byte) []byte { // hdr, padded to its frame_length
		n := int(hdr[3]&3)<<11 | int(hdr[4])<<3 | int(hdr[5]>>5)
		return append(hdr, make([]byte, max(n-len(hdr), 0))...)
	}
	mpeg := func(n int, hdr ...byte) []byte { return append(hdr, make([]byte, n-len(hdr))...) }
	aac, mp3 := func() frameWriter { return &adtsWriter{} }, func() frameWriter { return &mpegWriter{} }
	for _, tc := range []struct {
		name   string
		writer func() frameWriter
		frame  []byte
		want   frameLen // zero for a frame not read
	}{
		{"aac lc 44.1 kHz stereo", aac, adts(0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc), frameLen{1024, 44100}},
		{"aac crc", aac, adts(0xff, 0xf0, 0x4c, 0x40, 0x20, 0x1f, 0xfc), frameLen{1024, 48000}},
		{"aac four blocks", aac, adts(0xff, 0xf1, 0x4c, 0x40, 0x20, 0x1f, 0xff), frameLen{4096, 48000}},
		{"aac 7.1", aac, adts(0xff, 0xf1, 0x51, 0xc0, 0x2e, 0x7f, 0xfc), frameLen{1024, 44100}},
		{"aac channel configuration 0", aac, adts(0xff, 0xf1, 0x50, 0x00, 0x2e, 0x7f, 0xfc), frameLen{}},
		{"aac header only", aac, adts(0xff, 0xf1, 0x50, 0x80, 0x00, 0xff, 0xfc), frameLen{}},
		{"aac header only, crc", aac, adts(0xff, 0xf0, 0x4c, 0x40, 0x01, 0x3f, 0xfc, 0, 0), frameLen{}},
		{"aac cut short", aac, adts(0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc)[:300], frameLen{}},
		{"aac longer than its header says", aac, append(adts(0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc), 0), frameLen{}},
		{"aac reserved rate", aac, adts(0xff, 0xf1, 0x74, 0x80, 0x2e, 0x7f, 0xfc), frameLen{}},
		{"aac of mpeg audio", aac, mpeg(417, 0xff, 0xfb, 0x90, 0x64), frameLen{}},
		{"mp3 mpeg1", mp3, mpeg(417, 0xff, 0xfb, 0x90, 0x64), frameLen{1152, 44100}},
		{"mp3 padded crc", mp3, mpeg(418, 0xff, 0xfa, 0x92, 0x64), frameLen{1152, 44100}},
		{"mp3 mpeg2 mono", mp3, mpeg(104, 0xff, 0xf3, 0x40, 0xc4), frameLen{576, 22050}},
		{"mp3 mpeg2.5", mp3, mpeg(72, 0xff, 0xe3, 0x18, 0xc4), frameLen{576, 8000}},
		{"mp3 padding missing", mp3, mpeg(417, 0xff, 0xfa, 0x92, 0x64), frameLen{}},
		{"mp3 longer than its header says", mp3, mpeg(418, 0xff, 0xfb, 0x90, 0x64), frameLen{}},
		{"mp3 layer 2", mp3, mpeg(522, 0xff, 0xfd, 0x90, 0x64), frameLen{}},
		{"mp3 free format", mp3, mpeg(417, 0xff, 0xfb, 0x00, 0x64), frameLen{}},
		{"mp3 of adts", mp3, adts(0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc), frameLen{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.writer()
			l, err := w.length(tc.frame)
			if l != tc.want || (err == nil) != (tc.want != frameLen{}) {
				t.Errorf("length = %+v, %v; want %+v", l, err, tc.want)
			}
			// Silence after a frame read is a frame of the stream's (AAC's, of one
			// block); before one, there is none.
			silence := tc.want
			if _, ok := w.(*adtsWriter); ok && err == nil {
				silence.samples = 1024
			}
			if w.silenceLen() != silence {
				t.Errorf("silence lasts %+v after it, want %+v", w.silenceLen(), silence)
			}
		})
	}
}
