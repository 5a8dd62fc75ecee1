package httpstream

import "github.com/spacetui/spacetui/audio"

// MPEG audio (ISO/IEC 11172-3 and 13818-3): MP3 frames, handed on whole, header
// included (transport.CodecMP3).

// acceptMPA parses the MPEG audio header at the start of b and says whether it is one
// spacetui hands on: Layer III (audio.ParseMPEG takes no free format frames).
func acceptMPA(b []byte) (audio.FrameHeader, bool) {
	h, err := audio.ParseMPEG(b)
	return h, err == nil && h.Layer == 3
}
