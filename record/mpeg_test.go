package record

import "testing"

// The MP3 track writer reads whole Layer III frames of MPEG-1, 2 and 2.5.
func TestMPEGLength(t *testing.T) {
	frame := func(n int, hdr ...byte) []byte { return append(hdr, make([]byte, n-len(hdr))...) }
	for _, tc := range []struct {
		name  string
		frame []byte
		want  frameLen
	}{
		{"mpeg1", frame(417, 0xff, 0xfb, 0x90, 0x64), frameLen{1152, 44100}},
		{"padded crc", frame(418, 0xff, 0xfa, 0x92, 0x64), frameLen{1152, 44100}},
		{"mpeg2 mono", frame(104, 0xff, 0xf3, 0x40, 0xc4), frameLen{576, 22050}},
		{"mpeg2.5", frame(72, 0xff, 0xe3, 0x18, 0xc4), frameLen{576, 8000}},
		{"padding missing", frame(417, 0xff, 0xfa, 0x92, 0x64), frameLen{}},
		{"longer than its header says", frame(418, 0xff, 0xfb, 0x90, 0x64), frameLen{}},
		{"layer 2", frame(522, 0xff, 0xfd, 0x90, 0x64), frameLen{}},
		{"free format", frame(417, 0xff, 0xfb, 0x00, 0x64), frameLen{}},
		{"adts", frame(371, 0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc), frameLen{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w mpegWriter
			l, err := w.length(tc.frame)
			if l != tc.want || (err == nil) != (tc.want != frameLen{}) {
				t.Errorf("length = %+v, %v; want %+v", l, err, tc.want)
			}
			if w.silenceLen() != tc.want {
				t.Errorf("silence lasts %+v after it", w.silenceLen())
			}
		})
	}
}
