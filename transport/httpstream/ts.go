package httpstream

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/spacetui/spacetui/transport"
)

// MPEG-TS (ISO/IEC 13818-1), as HLS segments carry it: just enough to find the first
// audio stream of the first program and reassemble its elementary stream.

// MPEG-TS constants.
const (
	tsPacketLen = 188
	tsSync      = 0x47
	// ptsWrap is where a 33-bit presentation timestamp wraps.
	ptsWrap = 1 << 33
	// ptsRate is the rate of presentation timestamps.
	ptsRate = 90000
)

// The stream types spacetui takes from a program map: ADTS AAC and MPEG audio. Others
// (LATM AAC, AC-3, video) are named in the refusal.
const (
	streamTypeMPEG1Audio = 0x03
	streamTypeMPEG2Audio = 0x04
	streamTypeADTS       = 0x0f
)

// tsRun is a stretch of the audio stream whose bytes arrived whole, as far as the
// continuity counters tell, and the timestamp of its first PES packet.
type tsRun struct {
	pts    uint64 // 90 kHz
	hasPTS bool
	lost   bool // packets were lost before it
	data   []byte
}

// tsDemuxer reassembles the first audio stream of an MPEG-TS segment.
type tsDemuxer struct {
	pmtPID   int // -1 until the PAT names it
	audioPID int // -1 until the PMT names it
	types    []byte
	cc       int // the audio packets' last continuity counter, -1 before the first
	pes      []byte
	inPES    bool // collecting a PES packet that began in this segment
	lostNext bool // the next PES follows lost packets
	runs     []tsRun

	// origin is the timestamp of the segment's first PES packet, whole or not, from
	// which the runs are placed.
	origin    uint64
	hasOrigin bool
}

// isTS reports whether b looks like MPEG-TS: sync bytes a packet apart.
func isTS(b []byte) bool {
	return len(b) >= tsPacketLen && b[0] == tsSync && (len(b) == tsPacketLen || b[tsPacketLen] == tsSync)
}

// demuxTS reassembles the first ADTS or MPEG audio stream of b's first program. A
// damaged packet or a continuity counter out of step drops the PES packet it is part
// of; the next run starts at the next PES packet, marked lost.
func demuxTS(b []byte) (*tsDemuxer, error) {
	d := &tsDemuxer{pmtPID: -1, audioPID: -1, cc: -1}
	for off := 0; off+tsPacketLen <= len(b); {
		if b[off] != tsSync {
			off = tsResync(b, off+1)
			d.drop()
			continue
		}
		d.packet(b[off : off+tsPacketLen])
		off += tsPacketLen
	}
	d.endPES()
	if d.audioPID < 0 {
		if d.pmtPID < 0 {
			return nil, errors.New("mpeg-ts: no program association table")
		}
		return nil, fmt.Errorf("mpeg-ts: no AAC (ADTS) or MP3 audio stream (stream types % x): %w", d.types, transport.ErrProtocol)
	}
	return d, nil
}

// tsResync returns the offset of the next sync byte from off that is followed by
// another a packet later (or by the end), else len(b).
func tsResync(b []byte, off int) int {
	for off < len(b) {
		i := bytes.IndexByte(b[off:], tsSync)
		if i < 0 {
			break
		}
		off += i
		if off+tsPacketLen >= len(b) || b[off+tsPacketLen] == tsSync {
			return off
		}
		off++
	}
	return len(b)
}

// packet reads one transport packet.
func (d *tsDemuxer) packet(p []byte) {
	if p[1]&0x80 != 0 { // transport_error_indicator
		if int(p[1]&0x1f)<<8|int(p[2]) == d.audioPID {
			d.drop()
		}
		return
	}
	pusi := p[1]&0x40 != 0
	pid := int(p[1]&0x1f)<<8 | int(p[2])
	afc := p[3] >> 4 & 0x3
	cc := int(p[3] & 0xf)
	payload := p[4:]
	discontinuity := false
	if afc&0x2 != 0 { // an adaptation field
		n := int(payload[0])
		if 1+n > len(payload) {
			return
		}
		discontinuity = n > 0 && payload[1]&0x80 != 0
		payload = payload[1+n:]
	}
	if afc&0x1 == 0 {
		payload = nil
	}
	switch {
	case pid == 0 && pusi && d.pmtPID < 0:
		d.pat(payload)
	case pid == d.pmtPID && pusi && d.audioPID < 0:
		d.pmt(payload)
	case pid == d.audioPID && payload != nil:
		d.audio(payload, pusi, cc, discontinuity)
	}
}

// audio takes a packet of the audio stream.
func (d *tsDemuxer) audio(payload []byte, pusi bool, cc int, discontinuity bool) {
	switch {
	case d.cc < 0 || discontinuity || cc == (d.cc+1)&0xf:
	case cc == d.cc:
		return // a duplicate packet, which the standard allows once
	default: // packets were lost
		d.drop()
	}
	d.cc = cc
	if pusi {
		d.endPES()
		d.pes, d.inPES = append(d.pes[:0], payload...), true
		if pts, ok, _, _ := parsePES(payload); ok && !d.hasOrigin {
			d.origin, d.hasOrigin = pts, true
		}
		return
	}
	if d.inPES {
		d.pes = append(d.pes, payload...)
	}
}

// drop gives up the PES packet being collected: part of it is missing.
func (d *tsDemuxer) drop() {
	d.pes, d.inPES = d.pes[:0], false
	d.lostNext = true
}

// endPES ends the PES packet being collected: its payload joins the current run, or
// starts a new one after a loss.
func (d *tsDemuxer) endPES() {
	if !d.inPES {
		return
	}
	d.inPES = false
	pts, hasPTS, data, ok := parsePES(d.pes)
	if !ok {
		d.lostNext = true
		return
	}
	if len(d.runs) == 0 || d.lostNext {
		d.runs = append(d.runs, tsRun{pts: pts, hasPTS: hasPTS, lost: d.lostNext})
		d.lostNext = false
	}
	r := &d.runs[len(d.runs)-1]
	r.data = append(r.data, data...)
}

// parsePES returns the timestamp and payload of a PES packet.
func parsePES(b []byte) (pts uint64, hasPTS bool, payload []byte, ok bool) {
	if len(b) < 9 || b[0] != 0 || b[1] != 0 || b[2] != 1 || b[6]&0xc0 != 0x80 {
		return 0, false, nil, false
	}
	end := 9 + int(b[8])
	if end > len(b) {
		return 0, false, nil, false
	}
	if b[7]&0x80 != 0 && end >= 14 {
		p := b[9:14]
		pts = uint64(p[0]>>1&0x7)<<30 | uint64(p[1])<<22 | uint64(p[2]>>1)<<15 | uint64(p[3])<<7 | uint64(p[4]>>1)
		hasPTS = true
	}
	return pts, hasPTS, b[end:], true
}

// section returns the body of the PSI section that starts in payload (after its
// pointer field), from the byte after section_length to the CRC, if it is whole.
func section(payload []byte, tableID byte) ([]byte, bool) {
	if len(payload) < 1 || 1+int(payload[0])+3 > len(payload) {
		return nil, false
	}
	s := payload[1+int(payload[0]):]
	n := int(s[1]&0xf)<<8 | int(s[2])
	if s[0] != tableID || n < 9 || 3+n > len(s) {
		return nil, false
	}
	return s[3 : 3+n-4], true
}

// pat reads the program association table: the first program's PMT PID.
func (d *tsDemuxer) pat(payload []byte) {
	s, ok := section(payload, 0x00)
	if !ok {
		return
	}
	for p := s[5:]; len(p) >= 4; p = p[4:] {
		if program := int(p[0])<<8 | int(p[1]); program != 0 {
			d.pmtPID = int(p[2]&0x1f)<<8 | int(p[3])
			return
		}
	}
}

// pmt reads the program map: its first ADTS or MPEG audio stream.
func (d *tsDemuxer) pmt(payload []byte) {
	s, ok := section(payload, 0x02)
	if !ok || len(s) < 9 {
		return
	}
	info := int(s[7]&0xf)<<8 | int(s[8])
	if 9+info > len(s) {
		return
	}
	for p := s[9+info:]; len(p) >= 5; {
		typ, pid, n := p[0], int(p[1]&0x1f)<<8|int(p[2]), int(p[3]&0xf)<<8|int(p[4])
		if len(d.types) < 8 {
			d.types = append(d.types, typ)
		}
		if typ == streamTypeADTS || typ == streamTypeMPEG1Audio || typ == streamTypeMPEG2Audio {
			d.audioPID = pid
			return
		}
		if 5+n > len(p) {
			return
		}
		p = p[5+n:]
	}
}

// tsPackets reads the audio frames of an MPEG-TS segment. They go on from clk; a run
// after lost packets is placed by its timestamp, and its first packet marked lost.
func tsPackets(b []byte, clk *sampleClock) ([]packet, error) {
	d, err := demuxTS(b)
	if err != nil {
		return nil, err
	}
	var ps []packet
	var errs []error
	start := clk.pos()
	for _, run := range d.runs {
		if run.lost && run.hasPTS && d.hasOrigin {
			at := start + (run.pts-d.origin)%ptsWrap*sampleRate/ptsRate
			*clk = sampleClock{base: max(at, clk.pos())}
		}
		rps, err := esPackets(run.data, clk, maxSegmentFrames-len(ps))
		if err != nil {
			errs = append(errs, err)
		}
		if run.lost && len(rps) > 0 {
			rps[0].lost = true
		}
		ps = append(ps, rps...)
	}
	return ps, errors.Join(errs...)
}
