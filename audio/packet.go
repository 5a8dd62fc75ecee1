package audio

import "fmt"

// maxPacketSamples is the longest duration an Opus packet may carry: 120 ms.
const maxPacketSamples = 120 * SampleRate / 1000

// frameSamples is the duration of one Opus frame by TOC configuration (RFC 6716 3.1),
// in 48 kHz samples: SILK 10/20/40/60 ms, Hybrid 10/20 ms, CELT 2.5/5/10/20 ms.
var frameSamples = [32]int{
	480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880,
	480, 960, 480, 960,
	120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
}

// PacketSamples returns the number of 48 kHz samples an Opus packet decodes to, from its
// TOC byte and frame count (RFC 6716 section 3.1). It checks the packet's framing
// (requirements R1 to R7 of section 3.4) and returns an error wrapping ErrInvalidPacket
// for a packet a decoder would reject.
func PacketSamples(pkt []byte) (int, error) {
	if len(pkt) == 0 {
		return 0, fmt.Errorf("%w: empty", ErrInvalidPacket)
	}
	per := frameSamples[pkt[0]>>3]
	rest := len(pkt) - 1
	var frames int
	switch pkt[0] & 3 {
	case 0:
		frames = 1
		if rest > 1275 {
			return 0, fmt.Errorf("%w: frame of %d bytes", ErrInvalidPacket, rest)
		}
	case 1:
		frames = 2
		if rest%2 != 0 || rest/2 > 1275 {
			return 0, fmt.Errorf("%w: code 1 with %d payload bytes", ErrInvalidPacket, rest)
		}
	case 2:
		frames = 2
		n, size, ok := frameLength(pkt[1:])
		if !ok || n > rest-size {
			return 0, fmt.Errorf("%w: code 2 frame length", ErrInvalidPacket)
		}
		if rest-size-n > 1275 {
			return 0, fmt.Errorf("%w: code 2 second frame too long", ErrInvalidPacket)
		}
	default:
		var err error
		if frames, err = code3Frames(pkt, per); err != nil {
			return 0, err
		}
	}
	return frames * per, nil
}

// code3Frames validates a code 3 packet (RFC 6716 3.2.5) and returns its frame count.
func code3Frames(pkt []byte, per int) (int, error) {
	if len(pkt) < 2 {
		return 0, fmt.Errorf("%w: code 3 without a frame count", ErrInvalidPacket)
	}
	vbr, padded, m := pkt[1]&0x80 != 0, pkt[1]&0x40 != 0, int(pkt[1]&0x3f)
	if m == 0 || m*per > maxPacketSamples {
		return 0, fmt.Errorf("%w: %d frames of %d samples", ErrInvalidPacket, m, per)
	}
	p := pkt[2:]
	if padded {
		pad := 0
		for {
			if len(p) == 0 {
				return 0, fmt.Errorf("%w: truncated padding length", ErrInvalidPacket)
			}
			b := int(p[0])
			p = p[1:]
			if b == 255 {
				pad += 254
				continue
			}
			pad += b
			break
		}
		if pad > len(p) {
			return 0, fmt.Errorf("%w: %d bytes of padding in %d", ErrInvalidPacket, pad, len(p))
		}
		p = p[:len(p)-pad]
	}
	if !vbr {
		if len(p)%m != 0 || len(p)/m > 1275 {
			return 0, fmt.Errorf("%w: %d bytes do not split into %d frames", ErrInvalidPacket, len(p), m)
		}
		return m, nil
	}
	total := 0
	for i := 0; i < m-1; i++ {
		n, size, ok := frameLength(p)
		if !ok {
			return 0, fmt.Errorf("%w: code 3 frame length", ErrInvalidPacket)
		}
		p = p[size:]
		total += n
	}
	if total > len(p) || len(p)-total > 1275 {
		return 0, fmt.Errorf("%w: code 3 frame lengths exceed the packet", ErrInvalidPacket)
	}
	return m, nil
}

// frameLength decodes a one- or two-byte frame length (RFC 6716 3.2.1).
func frameLength(b []byte) (n, size int, ok bool) {
	switch {
	case len(b) == 0:
		return 0, 0, false
	case b[0] < 252:
		return int(b[0]), 1, true
	case len(b) < 2:
		return 0, 0, false
	default:
		return int(b[1])*4 + int(b[0]), 2, true
	}
}

// SilencePacket returns a 20 ms Opus packet of silence: a mono fullband CELT frame
// (TOC 0xF8) whose range-coded body decodes to digital silence. The recorder inserts it
// where a speaker sent nothing, so files stay aligned with the room clock.
func SilencePacket() []byte {
	return []byte{0xf8, 0xff, 0xfe}
}
