package audio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Bounds of the OggReader: nothing from the input makes it hold more than this.
const (
	maxOggAudioPacket  = 1 << 16 // an Opus packet is at most 120 ms of 1275-byte frames
	maxOggHeaderPacket = 1 << 20 // OpusTags may carry cover art; more is not a tag
	maxOggQueued       = 1 << 12 // packets completed on one page (at most 255)
)

// OggReader reads the audio packets of the first Opus stream (RFC 7845) of an Ogg file
// or live Ogg stream, or with NewOggAudioReader of its first Opus or Vorbis stream. Every size is bounded and every page checksummed, so it is safe on
// untrusted input. Pages of other logical streams are skipped.
type OggReader struct {
	r        *bufio.Reader
	serial   uint32
	head     OpusHead
	vendor   string
	comments []string
	granule  uint64
	// vorbis and vorbisSetup are a Vorbis stream's headers; nil for Opus.
	vorbis      *VorbisHeaders
	vorbisSetup []byte

	queue   [][]byte
	partial []byte
	inPart  bool // partial holds the start of a packet that continues
	eos     bool
	hdr     [oggHeaderLen]byte
	segs    [oggMaxSegments]byte
	body    []byte
}

// NewOggReader reads the OpusHead and OpusTags headers from r.
func NewOggReader(r io.Reader) (*OggReader, error) {
	return openOgg(r, false)
}

// NewOggAudioReader reads the headers of the first Opus or Vorbis stream of r: OpusHead
// and OpusTags, or the three Vorbis headers, checked (ParseVorbisHeaders). Vorbis says
// which it found. Anything else fails with ErrNotOpus, or ErrBadVorbis for a Vorbis
// stream whose headers do not parse.
func NewOggAudioReader(r io.Reader) (*OggReader, error) {
	return openOgg(r, true)
}

func openOgg(r io.Reader, vorbis bool) (*OggReader, error) {
	or := &OggReader{r: bufio.NewReaderSize(r, 1<<16), body: make([]byte, 0, oggMaxSegments*255)}
	// The audio stream's BOS page may follow other streams' BOS pages.
	for {
		flags, serial, err := or.readPage()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotOpus, err)
		}
		if flags&oggFlagBOS == 0 {
			return nil, ErrNotOpus
		}
		if bytes.HasPrefix(or.body, []byte(opusHeadMagic)) {
			or.serial = serial
			break
		}
		if vorbis && IsVorbisID(or.body) {
			or.serial = serial
			return or, or.readVorbisHeaders()
		}
	}
	head, err := parseOpusHead(or.body)
	if err != nil {
		return nil, err
	}
	or.head = head
	tags, err := or.next(maxOggHeaderPacket)
	if err != nil {
		return nil, fmt.Errorf("opus tags: %w", err)
	}
	if or.vendor, or.comments, err = parseOpusTags(tags); err != nil {
		return nil, err
	}
	return or, nil
}

// readVorbisHeaders reads the comment and setup headers after the identification
// header on the BOS page in r.body.
func (r *OggReader) readVorbisHeaders() error {
	id := bytes.Clone(r.body)
	if r.hdr[26] != 1 || r.segs[0] == 255 { // its 30 bytes, one lacing value
		return fmt.Errorf("%w: identification header not alone on its page", ErrBadVorbis)
	}
	var pkts [2][]byte
	for i := range pkts {
		p, err := r.next(maxOggHeaderPacket)
		if err != nil {
			return fmt.Errorf("vorbis headers: %w", err)
		}
		pkts[i] = p
	}
	h, err := ParseVorbisHeaders(id, pkts[0], pkts[1])
	if err != nil {
		return err
	}
	r.vorbis, r.vorbisSetup = h, PackVorbisSetup(id, pkts[0], pkts[1])
	r.vendor, r.comments = h.Vendor, h.Comments
	return nil
}

// Vorbis returns the Vorbis stream's headers, or nil for an Opus stream.
func (r *OggReader) Vorbis() *VorbisHeaders { return r.vorbis }

// VorbisSetup returns the Vorbis stream's three header packets as one slice
// (PackVorbisSetup), or nil for an Opus stream. It is the same slice at every call.
func (r *OggReader) VorbisSetup() []byte { return r.vorbisSetup }

// Head returns the Opus stream's identification header.
func (r *OggReader) Head() OpusHead { return r.head }

// Vendor returns the vendor string of OpusTags or of the Vorbis comment header.
func (r *OggReader) Vendor() string { return r.vendor }

// Comments returns the user comments of OpusTags or of the Vorbis comment header, each
// "KEY=value".
func (r *OggReader) Comments() []string { return r.comments }

// Granule returns the granule position of the last page that ended a packet.
func (r *OggReader) Granule() uint64 { return r.granule }

// ReadPacket returns the next audio packet. It returns io.EOF after the end-of-stream
// page or when the input ends at a page boundary (a recording cut off by a crash), and
// io.ErrUnexpectedEOF when it ends inside a page.
func (r *OggReader) ReadPacket() ([]byte, error) {
	return r.next(maxOggAudioPacket)
}

func (r *OggReader) next(limit int) ([]byte, error) {
	for len(r.queue) == 0 {
		if r.eos {
			return nil, io.EOF
		}
		flags, serial, err := r.readPage()
		if err != nil {
			return nil, err
		}
		if serial != r.serial {
			continue
		}
		if err := r.split(flags, limit); err != nil {
			return nil, err
		}
		r.eos = flags&oggFlagEOS != 0
	}
	p := r.queue[0]
	r.queue = r.queue[1:]
	return p, nil
}

// split cuts the page body in r.body into packets along its lacing values.
func (r *OggReader) split(flags byte, limit int) error {
	nsegs := int(r.hdr[26])
	if nsegs == 0 {
		return nil
	}
	if flags&oggFlagCont == 0 {
		r.partial, r.inPart = r.partial[:0], false // a page went missing: drop the fragment
	}
	skip := flags&oggFlagCont != 0 && !r.inPart // the stream began mid-packet, or lost its start
	body := r.body
	ended := false
	for _, n := range r.segs[:nsegs] {
		seg := body[:n]
		body = body[n:]
		if !skip {
			if len(r.partial)+int(n) > limit {
				return fmt.Errorf("%w: over %d bytes", ErrPacketTooLarge, limit)
			}
			r.partial = append(r.partial, seg...)
		}
		if n < 255 {
			if !skip {
				if len(r.queue) >= maxOggQueued {
					return fmt.Errorf("%w: too many packets on one page", ErrBadPage)
				}
				r.queue = append(r.queue, bytes.Clone(r.partial))
				ended = true
			}
			r.partial, skip = r.partial[:0], false
		}
	}
	r.inPart = !skip && r.segs[nsegs-1] == 255
	if ended {
		r.granule = binary.LittleEndian.Uint64(r.hdr[6:])
	}
	return nil
}

// readPage reads one page into r.hdr, r.segs and r.body and checks it.
func (r *OggReader) readPage() (flags byte, serial uint32, err error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return 0, 0, err // io.EOF at a page boundary, else io.ErrUnexpectedEOF
	}
	if string(r.hdr[:4]) != "OggS" || r.hdr[4] != 0 {
		return 0, 0, fmt.Errorf("%w: no capture pattern", ErrBadPage)
	}
	nsegs := int(r.hdr[26])
	if _, err := io.ReadFull(r.r, r.segs[:nsegs]); err != nil {
		return 0, 0, unexpected(err)
	}
	size := 0
	for _, n := range r.segs[:nsegs] {
		size += int(n)
	}
	r.body = r.body[:size] // at most 255*255 bytes: the format bounds a page
	if _, err := io.ReadFull(r.r, r.body); err != nil {
		return 0, 0, unexpected(err)
	}
	want := binary.LittleEndian.Uint32(r.hdr[22:])
	h := r.hdr
	binary.LittleEndian.PutUint32(h[22:], 0)
	crc := oggCRC(oggCRC(oggCRC(0, h[:]), r.segs[:nsegs]), r.body)
	if crc != want {
		return 0, 0, fmt.Errorf("%w: checksum %08x, want %08x", ErrBadPage, crc, want)
	}
	return r.hdr[5], binary.LittleEndian.Uint32(r.hdr[14:]), nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func parseOpusHead(b []byte) (OpusHead, error) {
	if len(b) < opusHeadLen || string(b[:8]) != opusHeadMagic {
		return OpusHead{}, fmt.Errorf("%w: short OpusHead", ErrNotOpus)
	}
	h := OpusHead{
		Version:       b[8],
		Channels:      int(b[9]),
		PreSkip:       int(binary.LittleEndian.Uint16(b[10:])),
		InputRate:     binary.LittleEndian.Uint32(b[12:]),
		OutputGain:    int16(binary.LittleEndian.Uint16(b[16:])),
		MappingFamily: b[18],
	}
	if h.Version>>4 != 0 || h.Channels == 0 {
		return OpusHead{}, fmt.Errorf("%w: OpusHead version %d, %d channels", ErrNotOpus, h.Version, h.Channels)
	}
	return h, nil
}

func parseOpusTags(b []byte) (vendor string, comments []string, err error) {
	if !bytes.HasPrefix(b, []byte(opusTagsMagic)) {
		return "", nil, fmt.Errorf("%w: malformed OpusTags", ErrNotOpus)
	}
	if vendor, comments, err = parseComments(b[len(opusTagsMagic):]); err != nil {
		return "", nil, fmt.Errorf("%w: malformed OpusTags", ErrNotOpus)
	}
	return vendor, comments, nil
}
