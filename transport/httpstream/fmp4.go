package httpstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// Bounds of the fMP4 reader: boxes nest this deep at most, and a segment holds at most
// this many samples (a 10 s segment of 2.5 ms Opus packets holds 4000).
const (
	maxBoxDepth      = 8
	maxSegmentFrames = 1 << 14
)

// errTruncated reports a box that claims more bytes than there are.
var errTruncated = errors.New("fmp4: truncated box")

// mp4Track is what an fMP4 init segment (ISO/IEC 14496-12: ftyp, moov) says about its
// audio track.
type mp4Track struct {
	id        uint32
	timescale uint32
	codec     string           // the sample entry's type: "Opus", "mp4a", ...
	format    transport.Codec  // what its samples are handed on as
	aac       audio.ADTSFormat // for AAC: what each sample's ADTS header says
	defDur    uint32           // trex default sample duration
	defSize   uint32           // trex default sample size
}

// mp4Sample is one sample of a media segment: for Opus, one packet (RFC 7845 does not
// apply; "Encapsulation of Opus in ISO Base Media File Format" section 4.3 does).
type mp4Sample struct {
	time     uint64 // decode time, in the track's timescale
	duration uint32
	data     []byte
}

// forEachBox calls f with the type, body and offset (within b) of each box in b.
func forEachBox(b []byte, f func(typ string, body []byte, off int) error) error {
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			return errTruncated
		}
		size, hdr := uint64(binary.BigEndian.Uint32(b[off:])), uint64(8)
		typ := string(b[off+4 : off+8])
		switch size {
		case 0:
			size = uint64(len(b) - off)
		case 1:
			if len(b)-off < 16 {
				return errTruncated
			}
			size, hdr = binary.BigEndian.Uint64(b[off+8:]), 16
		}
		if size < hdr || size > uint64(len(b)-off) {
			return errTruncated
		}
		if err := f(typ, b[off+int(hdr):off+int(size)], off); err != nil {
			return err
		}
		off += int(size)
	}
	return nil
}

// findBox returns the body of the first box at path (e.g. "moov", "trak") inside b.
func findBox(b []byte, path ...string) ([]byte, bool) {
	if len(path) > maxBoxDepth {
		return nil, false
	}
	for _, name := range path {
		var found []byte
		ok := false
		_ = forEachBox(b, func(typ string, body []byte, _ int) error {
			if !ok && typ == name {
				found, ok = body, true
			}
			return nil
		})
		if !ok {
			return nil, false
		}
		b = found
	}
	return b, true
}

// parseInit reads the first audio track of an init segment.
func parseInit(b []byte) (mp4Track, error) {
	moov, ok := findBox(b, "moov")
	if !ok {
		return mp4Track{}, errors.New("fmp4 init: no moov")
	}
	var tr mp4Track
	found := false
	err := forEachBox(moov, func(typ string, trak []byte, _ int) error {
		if typ != "trak" || found {
			return nil
		}
		hdlr, ok := findBox(trak, "mdia", "hdlr")
		if !ok || len(hdlr) < 12 || string(hdlr[8:12]) != "soun" {
			return nil
		}
		tkhd, ok1 := findBox(trak, "tkhd")
		mdhd, ok2 := findBox(trak, "mdia", "mdhd")
		stsd, ok3 := findBox(trak, "mdia", "minf", "stbl", "stsd")
		if !ok1 || !ok2 || !ok3 || len(tkhd) < 24 || len(mdhd) < 24 || len(stsd) < 16 {
			return errors.New("fmp4 init: incomplete audio track")
		}
		if tkhd[0] == 1 {
			tr.id = binary.BigEndian.Uint32(tkhd[20:])
		} else {
			tr.id = binary.BigEndian.Uint32(tkhd[12:])
		}
		if mdhd[0] == 1 {
			if len(mdhd) < 24 {
				return errTruncated
			}
			tr.timescale = binary.BigEndian.Uint32(mdhd[20:])
		} else {
			tr.timescale = binary.BigEndian.Uint32(mdhd[12:])
		}
		found = true
		return sampleEntry(stsd[8:], &tr) // after version, flags and entry count
	})
	if err != nil {
		return mp4Track{}, err
	}
	if !found || tr.timescale == 0 {
		return mp4Track{}, errors.New("fmp4 init: no audio track")
	}
	if mvex, ok := findBox(moov, "mvex"); ok {
		_ = forEachBox(mvex, func(typ string, trex []byte, _ int) error {
			if typ == "trex" && len(trex) >= 20 && binary.BigEndian.Uint32(trex[4:]) == tr.id {
				tr.defDur, tr.defSize = binary.BigEndian.Uint32(trex[12:]), binary.BigEndian.Uint32(trex[16:])
			}
			return nil
		})
	}
	return tr, nil
}

// MPEG-4 object type indications (ISO/IEC 14496-1, 7.2.6.6.2) of the audio spacetui
// takes from an esds: AAC by its AudioSpecificConfig, MP3 frames as they are.
const (
	otiMPEG4Audio = 0x40
	otiMPEG2AACLC = 0x67
	otiMPEG2Audio = 0x69
	otiMPEG1Audio = 0x6b
)

// sampleEntry reads the track's first sample entry: its type and, for mp4a, what its
// esds says the samples are.
func sampleEntry(entries []byte, tr *mp4Track) error {
	var body []byte
	if err := forEachBox(entries, func(typ string, b []byte, _ int) error {
		if tr.codec == "" {
			tr.codec, body = typ, b
		}
		return nil
	}); err != nil || tr.codec == "" {
		return errors.New("fmp4 init: no sample entry")
	}
	switch tr.codec {
	case "Opus":
		tr.format = transport.CodecOpus
		return nil
	case "mp4a":
	default:
		return fmt.Errorf("HLS fMP4 segments of %q audio, which spacetui does not play: %w",
			transport.Sanitize(tr.codec, 8), transport.ErrProtocol)
	}
	// An AudioSampleEntry: 28 bytes of fields, 16 or 36 more in QuickTime's versions 1
	// and 2, then its boxes.
	if len(body) < 28 {
		return errTruncated
	}
	skip := 28 + [3]int{0, 16, 36}[min(binary.BigEndian.Uint16(body[8:]), 2)]
	if len(body) < skip {
		return errTruncated
	}
	esds, ok := findBox(body[skip:], "esds")
	if !ok || len(esds) < 4 {
		return errors.New("fmp4 init: mp4a without esds")
	}
	oti, asc, err := decoderConfig(esds[4:])
	if err != nil {
		return err
	}
	switch oti {
	case otiMPEG4Audio, otiMPEG2AACLC:
		tr.format = transport.CodecAAC
		tr.aac, err = parseAudioConfig(asc)
		return err
	case otiMPEG1Audio, otiMPEG2Audio:
		tr.format = transport.CodecMP3
		return nil
	}
	return fmt.Errorf("HLS fMP4 segments of mp4a audio of object type 0x%02x, which spacetui does not play: %w", oti, transport.ErrProtocol)
}

// decoderConfig reads an ES_Descriptor (ISO/IEC 14496-1, 7.2.6.5) for the object type
// of its DecoderConfigDescriptor and the DecoderSpecificInfo in it (for AAC, the
// AudioSpecificConfig).
func decoderConfig(b []byte) (oti byte, specific []byte, err error) {
	es, ok := descriptor(b, 0x03)
	if !ok || len(es) < 3 {
		return 0, nil, errors.New("esds: no ES_Descriptor")
	}
	flags, p := es[2], es[3:]
	if flags&0x80 != 0 { // streamDependenceFlag
		p = p[min(2, len(p)):]
	}
	if flags&0x40 != 0 && len(p) > 0 { // URL_Flag
		p = p[min(1+int(p[0]), len(p)):]
	}
	if flags&0x20 != 0 { // OCRstreamFlag
		p = p[min(2, len(p)):]
	}
	dc, ok := descriptor(p, 0x04)
	if !ok || len(dc) < 13 {
		return 0, nil, errors.New("esds: no DecoderConfigDescriptor")
	}
	specific, _ = descriptor(dc[13:], 0x05)
	return dc[0], specific, nil
}

// descriptor returns the body of the descriptor at the start of b if its tag is tag;
// its size is written in one to four bytes of seven bits.
func descriptor(b []byte, tag byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != tag {
		return nil, false
	}
	n, i := 0, 1
	for ; i < len(b) && i <= 4; i++ {
		n = n<<7 | int(b[i]&0x7f)
		if b[i]&0x80 == 0 {
			break
		}
	}
	if i >= len(b) || i > 4 || n > len(b)-i-1 {
		return nil, false
	}
	return b[i+1 : i+1+n], true
}

// parseSegment returns the samples of tr in a media segment (moof and mdat boxes). The
// samples' data are slices of b.
func parseSegment(b []byte, tr mp4Track) ([]mp4Sample, error) {
	var out []mp4Sample
	err := forEachBox(b, func(typ string, moof []byte, off int) error {
		if typ != "moof" {
			return nil
		}
		return forEachBox(moof, func(typ string, traf []byte, _ int) error {
			if typ != "traf" {
				return nil
			}
			s, err := parseTraf(b, off, traf, tr, len(out))
			out = append(out, s...)
			return err
		})
	})
	return out, err
}

// parseTraf reads one track fragment of the moof at moofOff in seg.
func parseTraf(seg []byte, moofOff int, traf []byte, tr mp4Track, have int) ([]mp4Sample, error) {
	tfhd, ok := findBox(traf, "tfhd")
	if !ok || len(tfhd) < 8 {
		return nil, errors.New("fmp4: traf without tfhd")
	}
	flags := binary.BigEndian.Uint32(tfhd) & 0xffffff
	if binary.BigEndian.Uint32(tfhd[4:]) != tr.id {
		return nil, nil // another track
	}
	base, defDur, defSize := uint64(moofOff), tr.defDur, tr.defSize
	p := tfhd[8:]
	field := func(n int) (uint64, error) {
		if len(p) < n {
			return 0, errTruncated
		}
		var v uint64
		if n == 8 {
			v = binary.BigEndian.Uint64(p)
		} else {
			v = uint64(binary.BigEndian.Uint32(p))
		}
		p = p[n:]
		return v, nil
	}
	for _, f := range []struct {
		bit uint32
		n   int
		set func(uint64)
	}{
		{0x1, 8, func(v uint64) { base = v }},
		{0x2, 4, func(uint64) {}},
		{0x8, 4, func(v uint64) { defDur = uint32(v) }},
		{0x10, 4, func(v uint64) { defSize = uint32(v) }},
		{0x20, 4, func(uint64) {}},
	} {
		if flags&f.bit != 0 {
			v, err := field(f.n)
			if err != nil {
				return nil, err
			}
			f.set(v)
		}
	}
	var t uint64
	if tfdt, ok := findBox(traf, "tfdt"); ok && len(tfdt) >= 8 {
		if tfdt[0] == 1 && len(tfdt) >= 12 {
			t = binary.BigEndian.Uint64(tfdt[4:])
		} else {
			t = uint64(binary.BigEndian.Uint32(tfdt[4:]))
		}
	}
	var out []mp4Sample
	pos := base
	err := forEachBox(traf, func(typ string, trun []byte, _ int) error {
		if typ != "trun" {
			return nil
		}
		if len(trun) < 8 {
			return errTruncated
		}
		flags := binary.BigEndian.Uint32(trun) & 0xffffff
		count := binary.BigEndian.Uint32(trun[4:])
		p = trun[8:]
		if flags&0x1 != 0 {
			v, err := field(4)
			if err != nil {
				return err
			}
			pos = base + uint64(int64(int32(uint32(v))))
		}
		if flags&0x4 != 0 {
			if _, err := field(4); err != nil {
				return err
			}
		}
		per := 0
		for _, bit := range []uint32{0x100, 0x200, 0x400, 0x800} {
			if flags&bit != 0 {
				per += 4
			}
		}
		if per > 0 && uint64(count)*uint64(per) > uint64(len(p)) || have+len(out)+int(min(count, maxSegmentFrames+1)) > maxSegmentFrames {
			return fmt.Errorf("fmp4: trun of %d samples", count)
		}
		for range count {
			dur, size := defDur, defSize
			if flags&0x100 != 0 {
				v, _ := field(4)
				dur = uint32(v)
			}
			if flags&0x200 != 0 {
				v, _ := field(4)
				size = uint32(v)
			}
			if flags&0x400 != 0 {
				_, _ = field(4)
			}
			if flags&0x800 != 0 {
				_, _ = field(4)
			}
			if pos > uint64(len(seg)) || uint64(size) > uint64(len(seg))-pos {
				return errTruncated
			}
			out = append(out, mp4Sample{time: t, duration: dur, data: seg[pos : pos+uint64(size)]})
			pos += uint64(size)
			t += uint64(dur)
		}
		return nil
	})
	return out, err
}

// packets reads a media segment's samples as packets on the track's timeline, placed
// by their decode times: an Opus sample is one Opus packet, an AAC sample one raw
// access unit (handed on with an ADTS header), an MP3 sample one frame. A sample that
// is none of these is skipped.
func (tr mp4Track) packets(b []byte) ([]packet, error) {
	ss, err := parseSegment(b, tr)
	ps := make([]packet, 0, len(ss))
	scale := uint64(tr.timescale)
	for _, s := range ss {
		p := packet{codec: tr.format, data: s.data, pos: s.time * sampleRate / scale}
		dur := uint64(s.duration)
		switch tr.format {
		case transport.CodecOpus:
			n, perr := audio.PacketSamples(s.data)
			if perr != nil {
				continue
			}
			dur = uint64(n) * scale / sampleRate
		case transport.CodecAAC:
			f, ok := tr.aac.AppendFrame(nil, s.data)
			h, hok := acceptADTS(f)
			if !ok || !hok {
				continue
			}
			p.data = f
			if dur == 0 {
				dur = uint64(h.Samples) * scale / uint64(h.Rate)
			}
		case transport.CodecMP3:
			h, ok := acceptMPA(s.data)
			if !ok || h.Length != len(s.data) {
				continue
			}
			if dur == 0 {
				dur = uint64(h.Samples) * scale / uint64(h.Rate)
			}
		}
		p.end = (s.time + dur) * sampleRate / scale
		p.duration = time.Duration(dur) * time.Second / time.Duration(scale)
		ps = append(ps, p)
	}
	return ps, err
}
