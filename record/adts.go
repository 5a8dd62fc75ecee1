package record

import (
	"errors"

	"github.com/spacetui/spacetui/audio"
)

// An AAC track is raw ADTS (ISO/IEC 14496-3, 1.A.2): the frames as received, back to
// back, each with its header.

// The ids of the syntactic elements of a raw data block (ISO/IEC 14496-3, Table 4.85).
const (
	aacSCE = 0 // single channel element
	aacCPE = 1 // channel pair element
	aacLFE = 3 // low-frequency effects channel
	aacFIL = 6 // fill element
	aacEND = 7
)

// aacElements are the elements of a raw data block by channel configuration (ISO/IEC
// 14496-3, Table 1.19). Configuration 0 leaves the layout to a program config element,
// for which no silence is written: such a frame is not read.
var aacElements = [8][]int{nil, {aacSCE}, {aacCPE}, {aacSCE, aacCPE}, {aacSCE, aacCPE, aacSCE},
	{aacSCE, aacCPE, aacCPE}, {aacSCE, aacCPE, aacCPE, aacLFE}, {aacSCE, aacCPE, aacCPE, aacCPE, aacLFE}}

// adtsWriter writes an AAC track. Its silence is a frame of the stream's profile, rate
// and channel configuration in which no channel has spectral data, padded with fill
// elements, as a constant bit rate encoder pads its frames, to the mean size of the
// frames received: the file keeps the stream's bit rate, from which players estimate
// an ADTS file's duration and where to seek.
type adtsWriter struct {
	rawWriter
	format        audio.ADTSFormat // of the last frame read
	rate          int              // its rate, in Hz
	last          int              // the size of the last frame read
	bytes, frames int64            // of the frames received and written
	silent        []byte           // the last frame of silence built...
	silentOf      adtsKey          // ... and what for
}

// adtsKey is what a frame of silence is built for: a format and a size.
type adtsKey struct {
	format audio.ADTSFormat
	size   int
}

// adtsFormat is the format of the ADTS frame whose header is h.
func adtsFormat(h audio.FrameHeader) audio.ADTSFormat {
	i, _ := audio.AACRateIndex(h.Rate) // ParseADTS read the rate from an index
	return audio.ADTSFormat{ObjectType: h.ObjectType, RateIndex: i, Channels: h.Channels}
}

func (w *adtsWriter) length(p []byte) (frameLen, error) {
	h, err := audio.ParseADTS(p)
	if err != nil {
		return frameLen{}, err
	}
	// A frame of header only holds no audio; configuration 0 leaves the layout to a
	// program config element, for which no silence is written.
	if h.Length != len(p) || h.Length == h.HeaderLength || len(aacElements[h.Channels]) == 0 {
		return frameLen{}, errors.New("an ADTS frame that cannot be read")
	}
	w.format, w.rate, w.last = adtsFormat(h), h.Rate, h.Length
	return frameLen{h.Samples, h.Rate}, nil
}

func (w *adtsWriter) silenceLen() frameLen {
	if w.last == 0 {
		return frameLen{}
	}
	return frameLen{1024, w.rate}
}

func (w *adtsWriter) write(p []byte) error {
	w.bytes += int64(len(p))
	w.frames++
	return w.rawWriter.write(p)
}

func (w *adtsWriter) writeSilence() error {
	size := w.last
	if w.frames > 0 {
		size = int((w.bytes + w.frames/2) / w.frames)
	}
	if k := (adtsKey{w.format, size}); w.silent == nil || w.silentOf != k {
		w.silent, w.silentOf = adtsSilence(w.format, size), k
	}
	return w.rawWriter.write(w.silent)
}

// adtsSilence returns a frame of silence of size bytes (or as few as it takes, and no
// more than an ADTS frame holds) in format f, whose channel configuration is not 0: a
// header as audio.ADTSFormat writes it (no CRC), and every channel's stream empty: a
// long window with no scale factor bands (max_sfb 0), no pulse, TNS or gain control
// data. It decodes to zeros on its own.
func adtsSilence(f audio.ADTSFormat, size int) []byte {
	size = min(size, audio.MaxADTSFrame)
	var b bitWriter
	var tags [8]uint
	for _, el := range aacElements[f.Channels] {
		b.put(uint(el), 3)
		b.put(tags[el], 4) // element_instance_tag: each kind numbered from 0
		tags[el]++
		const ics = 8 + 11 + 3 // global_gain, ics_info, and the three *_present flags
		if el == aacCPE {
			b.put(0, 1+2*ics) // common_window 0, then each channel's stream
		} else {
			b.put(0, ics)
		}
	}
	// Fill elements take up the room left but 3 bits for END: a count of up to 14
	// bytes, or 15 and an escape byte for up to 269, then EXT_FILL and fill bytes.
	for room := 8*(size-audio.ADTSHeaderLen) - b.n - 3; room >= 7; room = 8*(size-audio.ADTSHeaderLen) - b.n - 3 {
		b.put(aacFIL, 3)
		n := min((room-7)/8, 14)
		if room >= 15+8*15 {
			n = min((room-15)/8, 269)
			b.put(15, 4)
			b.put(uint(n-14), 8)
		} else {
			b.put(uint(n), 4)
		}
		if n > 0 {
			b.put(0, 8) // extension_type EXT_FILL, fill_nibble
			for range n - 1 {
				b.put(0xa5, 8) // fill_byte
			}
		}
	}
	b.put(aacEND, 3)
	frame, _ := f.AppendFrame(nil, b.b) // fits: no longer than size
	return frame
}

// bitWriter appends bits, most significant first, for the few fields a frame of
// silence has.
type bitWriter struct {
	b []byte
	n int // bits written
}

func (w *bitWriter) put(v uint, bits int) {
	for i := bits - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.n%8)
		w.n++
	}
}
