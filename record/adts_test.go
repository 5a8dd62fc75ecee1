package record

import "testing"

// The AAC track writer reads the frames it can write silence after: whole frames of
// audio in a channel configuration it has the elements of.
func TestADTSLength(t *testing.T) {
	frame := func(hdr ...byte) []byte { // hdr, padded to its frame_length
		n := int(hdr[3]&3)<<11 | int(hdr[4])<<3 | int(hdr[5]>>5)
		return append(hdr, make([]byte, max(n-len(hdr), 0))...)
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		want  frameLen
	}{
		{"lc 44.1 kHz stereo", frame(0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc), frameLen{1024, 44100}},
		{"crc", frame(0xff, 0xf0, 0x4c, 0x40, 0x20, 0x1f, 0xfc), frameLen{1024, 48000}},
		{"four blocks", frame(0xff, 0xf1, 0x4c, 0x40, 0x20, 0x1f, 0xff), frameLen{4096, 48000}},
		{"7.1", frame(0xff, 0xf1, 0x51, 0xc0, 0x2e, 0x7f, 0xfc), frameLen{1024, 44100}},
		{"channel configuration 0", frame(0xff, 0xf1, 0x50, 0x00, 0x2e, 0x7f, 0xfc), frameLen{}},
		{"header only", frame(0xff, 0xf1, 0x50, 0x80, 0x00, 0xff, 0xfc), frameLen{}},
		{"header only, crc", frame(0xff, 0xf0, 0x4c, 0x40, 0x01, 0x3f, 0xfc, 0, 0), frameLen{}},
		{"cut short", frame(0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc)[:300], frameLen{}},
		{"longer than its header says", append(frame(0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc), 0), frameLen{}},
		{"reserved rate", frame(0xff, 0xf1, 0x74, 0x80, 0x2e, 0x7f, 0xfc), frameLen{}},
		{"mpeg audio", make([]byte, 417), frameLen{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w adtsWriter
			l, err := w.length(tc.frame)
			if l != tc.want || (err == nil) != (tc.want != frameLen{}) {
				t.Errorf("length = %+v, %v; want %+v", l, err, tc.want)
			}
			if err == nil && w.silenceLen() != (frameLen{1024, tc.want.rate}) {
				t.Errorf("silence lasts %+v after it", w.silenceLen())
			}
		})
	}
}
