package audio

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"
)

// OggOptions configures an OggWriter.
type OggOptions struct {
	// Channels is 1 or 2; zero means 1.
	Channels int
	// PreSkip is the number of samples a player discards at the start; zero means
	// DefaultPreSkip.
	PreSkip int
	// InputRate is the original sample rate, informational; zero means 48000.
	InputRate uint32
	// Serial is the Ogg stream serial number; zero means a random one.
	Serial uint32
	// Comments are the user comments of OpusTags, each "KEY=value", such as
	// "TITLE=Keeping rooms alive" or "DATE=2026-11-27". Keys are ASCII without '='.
	Comments []string
}

// OggWriter writes one Ogg Opus stream (RFC 7845). Granule positions come from the
// duration of each packet, read from its TOC byte, so they stay right across track
// changes and timestamp wraps. A page is written at least every 500 ms of audio, so a
// file cut off by a crash plays to within half a second; Flush writes one sooner, and
// Close writes the end-of-stream page. An OggWriter is not safe for concurrent use.
type OggWriter struct {
	oggPager
	preSkip int
	granule uint64 // samples of all packets written, pre-skip included
	closed  bool
}

// oggPager lays packets out on the pages of one logical stream (RFC 3533), whatever
// their codec: each with the granule position its caller gives.
type oggPager struct {
	w       io.Writer
	serial  uint32
	pageSeq uint32

	pending    [][]byte // packets not yet on a page
	ends       []uint64 // granule position after each pending packet
	pendingDur int      // samples pending, for the caller's choice of when to write a page
	page       []byte   // reused page buffer
}

// OggPacketWriter writes one logical Ogg stream of packets of any codec (an Ogg Vorbis
// link), with the granule positions its caller gives: the header packets, each
// starting a page (the first, the beginning of stream, alone on its page), then audio
// packets, on a page at least every 500 ms of audio. Flush writes a page sooner and
// Close the end-of-stream page. It is not safe for concurrent use.
type OggPacketWriter struct {
	oggPager
	rate    int // of the granule positions, in samples per second
	headers int // header packets written
	closed  bool
}

// NewOggPacketWriter returns a writer of a stream of serial (a random one for 0) to w,
// whose granule positions count rate samples a second.
func NewOggPacketWriter(w io.Writer, serial uint32, rate int) *OggPacketWriter {
	return &OggPacketWriter{oggPager: oggPager{w: w, serial: oggSerial(serial)}, rate: max(rate, 1)}
}

// WriteHeaders writes header packets: the first alone on the beginning-of-stream page,
// the others on the pages after it, which the first audio packet does not share.
func (w *OggPacketWriter) WriteHeaders(pkts ...[]byte) error {
	if w.closed {
		return ErrClosed
	}
	for _, p := range pkts {
		w.queue(bytes.Clone(p), 0)
		if w.headers++; w.headers == 1 {
			if err := w.writePages(oggFlagBOS, false); err != nil {
				return err
			}
		}
	}
	return w.writePages(0, false)
}

// WritePacket adds an audio packet of samples samples (at the writer's rate), after
// which the stream's granule position is granule.
func (w *OggPacketWriter) WritePacket(pkt []byte, samples int, granule uint64) error {
	if w.closed {
		return ErrClosed
	}
	w.queue(bytes.Clone(pkt), granule)
	w.pendingDur += samples
	if w.pendingDur >= w.rate/2 {
		return w.writePages(0, false)
	}
	return nil
}

// Flush writes the pending packets out as a page now.
func (w *OggPacketWriter) Flush() error {
	if w.closed {
		return ErrClosed
	}
	return w.writePages(0, false)
}

// Close writes the pending packets and the end-of-stream page. It does not close the
// underlying writer. Closing twice is a no-op.
func (w *OggPacketWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	return w.writePages(0, true)
}

// oggSerial is serial, or a random one for 0.
func oggSerial(serial uint32) uint32 {
	if serial != 0 {
		return serial
	}
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return binary.LittleEndian.Uint32(b[:]) | 1
}

// NewOggWriter writes the OpusHead and OpusTags headers to w, each on its own page, and
// returns a writer for the audio packets.
func NewOggWriter(w io.Writer, opts OggOptions) (*OggWriter, error) {
	head := OpusHead{Version: 1, Channels: opts.Channels, PreSkip: opts.PreSkip, InputRate: opts.InputRate}
	if head.Channels == 0 {
		head.Channels = 1
	}
	if head.Channels > 2 || head.Channels < 0 {
		return nil, fmt.Errorf("ogg opus: %d channels, want 1 or 2", head.Channels)
	}
	if head.PreSkip == 0 {
		head.PreSkip = DefaultPreSkip
	}
	if head.PreSkip < 0 || head.PreSkip > 0xffff {
		return nil, fmt.Errorf("ogg opus: pre-skip %d out of range", head.PreSkip)
	}
	if head.InputRate == 0 {
		head.InputRate = SampleRate
	}
	tags, err := opusTags(opts.Comments)
	if err != nil {
		return nil, err
	}
	ow := &OggWriter{oggPager: oggPager{w: w, serial: oggSerial(opts.Serial)}, preSkip: head.PreSkip}
	// Header pages carry granule position 0; the first audio packet starts a new page.
	ow.queue(head.marshal(), 0)
	if err := ow.writePages(oggFlagBOS, false); err != nil {
		return nil, err
	}
	ow.queue(tags, 0)
	if err := ow.writePages(0, false); err != nil {
		return nil, err
	}
	return ow, nil
}

// opusTags builds the OpusTags packet (RFC 7845 section 5.2).
func opusTags(comments []string) ([]byte, error) {
	b := []byte(opusTagsMagic)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(OggVendor)))
	b = append(b, OggVendor...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(comments)))
	for _, c := range comments {
		key, _, ok := strings.Cut(c, "=")
		if !ok || key == "" || strings.IndexFunc(key, func(r rune) bool { return r < 0x20 || r > 0x7d }) >= 0 {
			return nil, fmt.Errorf("%w: %q", ErrBadTag, c)
		}
		c = strings.ToValidUTF8(c, "\uFFFD")
		b = binary.LittleEndian.AppendUint32(b, uint32(len(c)))
		b = append(b, c...)
	}
	return b, nil
}

// WritePacket adds one Opus packet. It returns an error wrapping ErrInvalidPacket, and
// writes nothing, for a packet whose duration cannot be read; a recorder should write
// SilencePacket in its place to keep the timeline.
func (w *OggWriter) WritePacket(pkt []byte) error {
	if w.closed {
		return ErrClosed
	}
	n, err := PacketSamples(pkt)
	if err != nil {
		return err
	}
	w.granule += uint64(n)
	w.queue(append([]byte(nil), pkt...), w.granule)
	w.pendingDur += n
	if w.pendingDur >= oggPageAudio {
		return w.writePages(0, false)
	}
	return nil
}

// Duration returns the playable duration of the packets written so far.
func (w *OggWriter) Duration() time.Duration {
	return granuleDuration(w.granule, w.preSkip)
}

// Flush writes the pending packets out as a page now.
func (w *OggWriter) Flush() error {
	if w.closed {
		return ErrClosed
	}
	return w.writePages(0, false)
}

// Close writes the pending packets and the end-of-stream page. It does not close the
// underlying writer. Closing twice is a no-op.
func (w *OggWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	return w.writePages(0, true)
}

func (w *oggPager) queue(pkt []byte, end uint64) {
	w.pending = append(w.pending, pkt)
	w.ends = append(w.ends, end)
}

// writePages writes every pending packet on as many pages as it takes (a page holds up to
// 255 lacing values; a long packet continues on the next page). With eos the last page
// is marked end-of-stream, and is written even if empty: Flush may have written every
// packet already. An empty page ends no packet, so its granule position is -1 (RFC 3533).
func (w *oggPager) writePages(flags byte, eos bool) error {
	pk, off := 0, 0 // the next packet and the offset in it
	for pk < len(w.pending) || eos {
		pageFlags := flags
		if off > 0 {
			pageFlags |= oggFlagCont
		}
		granule := granuleNone
		var segs []byte
		var body [][]byte
		for len(segs) < oggMaxSegments && pk < len(w.pending) {
			p := w.pending[pk]
			n := min(len(p)-off, 255)
			segs = append(segs, byte(n))
			body = append(body, p[off:off+n])
			off += n
			if n < 255 {
				granule = w.ends[pk]
				pk, off = pk+1, 0
			}
		}
		if pk == len(w.pending) && eos {
			pageFlags |= oggFlagEOS
			eos = false
		}
		if err := w.writePage(pageFlags, granule, segs, body); err != nil {
			return err
		}
		flags = 0
	}
	w.pending, w.ends, w.pendingDur = w.pending[:0], w.ends[:0], 0
	return nil
}

func (w *oggPager) writePage(flags byte, granule uint64, segs []byte, body [][]byte) error {
	p := w.page[:0]
	p = append(p, "OggS"...)
	p = append(p, 0, flags)
	p = binary.LittleEndian.AppendUint64(p, granule)
	p = binary.LittleEndian.AppendUint32(p, w.serial)
	p = binary.LittleEndian.AppendUint32(p, w.pageSeq)
	p = append(p, 0, 0, 0, 0, byte(len(segs)))
	p = append(p, segs...)
	for _, b := range body {
		p = append(p, b...)
	}
	binary.LittleEndian.PutUint32(p[22:], oggCRC(0, p))
	w.page = p
	w.pageSeq++
	if _, err := w.w.Write(p); err != nil {
		return fmt.Errorf("write ogg page: %w", err)
	}
	return nil
}
