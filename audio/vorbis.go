package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// Vorbis I headers (https://xiph.org/vorbis/doc/Vorbis_I_spec.html, sections 4.2 and 5):
// what a transport, a decoder and a track writer need from a stream's three header
// packets, and the one form in which a transport hands them on (PackVorbisSetup).
//
// The setup header is checked in full, as libvorbis checks it, before any decoder sees it:
// jfreymuth/vorbis trusts it, and a hostile one makes it allocate gigabytes (a codebook of
// 2^24 entries costs three bytes to declare) or loop for ever (a Huffman tree with a hole
// in it, read at the end of a packet). What passes here is bounded: see the limits below.

// Bounds of a Vorbis setup header beyond the format's own. libvorbis's encoder uses a few
// thousand codebook entries in all; these leave a hundredfold margin and bound what a
// decoder allocates for a setup header to a few tens of megabytes.
const (
	vorbisMaxEntries = 1 << 18 // codebook entries, summed over the codebooks
	vorbisMaxValues  = 1 << 20 // codebook vector values (entries times dimensions), summed
	vorbisMinBlock   = 64      // the least and largest block sizes (section 4.2.2)
	vorbisMaxBlock   = 8192
)

const (
	vorbisIDLen       = 30 // the identification header: 7-byte preamble and 23 bytes
	vorbisTypeID      = 1
	vorbisTypeComment = 3
	vorbisTypeSetup   = 5
	vorbisCodebookTag = 0x564342 // "BCV"
)

// ErrBadVorbis reports Vorbis header packets that do not parse, or break a bound.
var ErrBadVorbis = errors.New("malformed vorbis header")

// VorbisHeaders is what a Vorbis stream's header packets say.
type VorbisHeaders struct {
	Rate      int    // samples per second per channel
	Channels  int    // 1 to 255
	Blocksize [2]int // the short and the long block, in samples
	Vendor    string // of the comment header
	Comments  []string
	// longMode says, for each mode of the setup header, whether its block is long.
	longMode []bool
}

// IsVorbisID reports whether pkt is a Vorbis identification header, the first packet of
// an Ogg Vorbis stream.
func IsVorbisID(pkt []byte) bool { return isVorbisHeader(pkt, vorbisTypeID) }

func isVorbisHeader(pkt []byte, typ byte) bool {
	return len(pkt) >= 7 && pkt[0] == typ && string(pkt[1:7]) == "vorbis"
}

// ParseVorbisHeaders checks a stream's identification, comment and setup header packets
// and returns what they say. It fails with an error wrapping ErrBadVorbis.
func ParseVorbisHeaders(id, comment, setup []byte) (*VorbisHeaders, error) {
	h, err := parseVorbisID(id)
	if err != nil {
		return nil, err
	}
	if !isVorbisHeader(comment, vorbisTypeComment) {
		return nil, fmt.Errorf("%w: no comment header", ErrBadVorbis)
	}
	if h.Vendor, h.Comments, err = parseComments(comment[7:]); err != nil {
		return nil, fmt.Errorf("%w: comment header", ErrBadVorbis)
	}
	if !isVorbisHeader(setup, vorbisTypeSetup) {
		return nil, fmt.Errorf("%w: no setup header", ErrBadVorbis)
	}
	if h.longMode, err = parseVorbisSetup(setup[7:], h.Channels); err != nil {
		return nil, fmt.Errorf("%w: setup header: %w", ErrBadVorbis, err)
	}
	return h, nil
}

func parseVorbisID(b []byte) (*VorbisHeaders, error) {
	if !isVorbisHeader(b, vorbisTypeID) || len(b) < vorbisIDLen {
		return nil, fmt.Errorf("%w: no identification header", ErrBadVorbis)
	}
	h := &VorbisHeaders{
		Channels:  int(b[11]),
		Rate:      int(binary.LittleEndian.Uint32(b[12:])),
		Blocksize: [2]int{1 << (b[28] & 0x0f), 1 << (b[28] >> 4)},
	}
	switch {
	case binary.LittleEndian.Uint32(b[7:]) != 0:
		return nil, fmt.Errorf("%w: version %d", ErrBadVorbis, binary.LittleEndian.Uint32(b[7:]))
	case h.Channels == 0 || h.Rate <= 0 || h.Rate > 1<<20:
		return nil, fmt.Errorf("%w: %d channels at %d Hz", ErrBadVorbis, h.Channels, h.Rate)
	case h.Blocksize[0] < vorbisMinBlock || h.Blocksize[1] > vorbisMaxBlock || h.Blocksize[0] > h.Blocksize[1]:
		return nil, fmt.Errorf("%w: block sizes %d and %d", ErrBadVorbis, h.Blocksize[0], h.Blocksize[1])
	case b[29]&1 == 0:
		return nil, fmt.Errorf("%w: identification header without its framing bit", ErrBadVorbis)
	}
	return h, nil
}

// PacketLong reads an audio packet's mode and reports whether its block is long. A
// packet that is not an audio packet of this stream is ErrCorruptFrame.
func (h *VorbisHeaders) PacketLong(pkt []byte) (bool, error) {
	if len(pkt) == 0 || pkt[0]&1 != 0 {
		return false, fmt.Errorf("%w: not a vorbis audio packet", ErrCorruptFrame)
	}
	r := vorbisBits{b: pkt, pos: 1}
	mode := int(r.read(bits.Len(uint(len(h.longMode) - 1))))
	if r.short || mode >= len(h.longMode) {
		return false, fmt.Errorf("%w: vorbis mode %d of %d", ErrCorruptFrame, mode, len(h.longMode))
	}
	return h.longMode[mode], nil
}

// Samples is how many samples per channel a packet of block long decodes to after a
// packet of block prevLong (section 4.3.8: the second half of the previous window
// overlapped with the first half of this one). The first packet of a stream decodes to
// none.
func (h *VorbisHeaders) Samples(prevLong, long bool) int {
	return h.Blocksize[b2i(prevLong)]/4 + h.Blocksize[b2i(long)]/4
}

// MaxSamples is the most samples per channel a packet of the stream decodes to.
func (h *VorbisHeaders) MaxSamples() int { return h.Blocksize[1] / 2 }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// PackVorbisSetup joins a stream's three header packets into the one slice a
// transport.AudioFrame carries as its Setup: Xiph lacing, as Matroska's CodecPrivate
// for Vorbis has them. A byte 2 (the number of packets less one), the lengths of the
// first two packets each as a run of 255s and one byte below 255 that add up to it,
// then the three packets back to back.
func PackVorbisSetup(id, comment, setup []byte) []byte {
	b := make([]byte, 0, 1+len(id)/255+len(comment)/255+2+len(id)+len(comment)+len(setup))
	b = append(b, 2)
	for _, p := range [][]byte{id, comment} {
		for n := len(p); ; n -= 255 {
			if n < 255 {
				b = append(b, byte(n))
				break
			}
			b = append(b, 255)
		}
	}
	b = append(b, id...)
	b = append(b, comment...)
	return append(b, setup...)
}

// SplitVorbisSetup splits a Setup made by PackVorbisSetup into the three header
// packets, which share its memory. It fails with ErrBadVorbis on anything else.
func SplitVorbisSetup(b []byte) (id, comment, setup []byte, err error) {
	bad := fmt.Errorf("%w: setup not three laced packets", ErrBadVorbis)
	if len(b) == 0 || b[0] != 2 {
		return nil, nil, nil, bad
	}
	b = b[1:]
	var sizes [2]int
	for i := range sizes {
		for {
			if len(b) == 0 {
				return nil, nil, nil, bad
			}
			v := b[0]
			b = b[1:]
			sizes[i] += int(v)
			if v < 255 {
				break
			}
		}
	}
	if sizes[0] > len(b) || sizes[1] > len(b)-sizes[0] {
		return nil, nil, nil, bad
	}
	id, b = b[:sizes[0]:sizes[0]], b[sizes[0]:]
	comment, setup = b[:sizes[1]:sizes[1]], b[sizes[1]:]
	return id, comment, setup, nil
}

// vorbisBits reads a packet's bits, least significant first (section 2.1.4). Reading
// past the end yields zeros and sets short.
type vorbisBits struct {
	b     []byte
	pos   int // in bits
	short bool
}

func (r *vorbisBits) read(n int) uint32 {
	var v uint32
	for i := 0; i < n; i++ {
		if r.pos>>3 >= len(r.b) {
			r.short = true
			return 0
		}
		v |= uint32(r.b[r.pos>>3]>>(r.pos&7)&1) << i
		r.pos++
	}
	return v
}

// left is how many bits are left to read.
func (r *vorbisBits) left() int { return len(r.b)*8 - r.pos }

// skip moves on n bits, or reports false if there are not that many.
func (r *vorbisBits) skip(n int) bool {
	if n < 0 || n > r.left() {
		r.short = true
		return false
	}
	r.pos += n
	return true
}

// vorbisBook is what the checks of later parts of the setup header need of a codebook.
type vorbisBook struct {
	dims, entries int
	vq            bool // it has a value lookup: it can decode vectors
}

// parseVorbisSetup checks the setup header after its preamble (section 4.2.4) and
// returns its modes' block flags.
func parseVorbisSetup(b []byte, channels int) ([]bool, error) {
	r := &vorbisBits{b: b}
	books := make([]vorbisBook, r.read(8)+1)
	var entries, values int
	for i := range books {
		bk, err := parseVorbisCodebook(r)
		if err != nil {
			return nil, fmt.Errorf("codebook %d: %w", i, err)
		}
		books[i] = bk
		entries += bk.entries
		if bk.vq {
			values += bk.entries * bk.dims
		}
		if entries > vorbisMaxEntries || values > vorbisMaxValues {
			return nil, fmt.Errorf("codebooks of over %d entries or %d values", vorbisMaxEntries, vorbisMaxValues)
		}
	}
	book := func(n uint32, vq bool) bool { return int(n) < len(books) && (!vq || books[n].vq) }

	for range r.read(6) + 1 { // time domain transforms: placeholders
		if r.read(16) != 0 {
			return nil, errors.New("a time domain transform")
		}
	}
	floors := int(r.read(6)) + 1
	for i := range floors {
		if err := parseVorbisFloor(r, book); err != nil {
			return nil, fmt.Errorf("floor %d: %w", i, err)
		}
	}
	residues := int(r.read(6)) + 1
	for i := range residues {
		if err := parseVorbisResidue(r, book); err != nil {
			return nil, fmt.Errorf("residue %d: %w", i, err)
		}
	}
	mappings := int(r.read(6)) + 1
	for i := range mappings {
		if err := parseVorbisMapping(r, channels, floors, residues); err != nil {
			return nil, fmt.Errorf("mapping %d: %w", i, err)
		}
	}
	long := make([]bool, r.read(6)+1)
	for i := range long {
		long[i] = r.read(1) == 1
		if r.read(16) != 0 || r.read(16) != 0 || int(r.read(8)) >= mappings {
			return nil, fmt.Errorf("mode %d", i)
		}
	}
	if r.read(1) != 1 || r.short {
		return nil, errors.New("cut short")
	}
	return long, nil
}

// parseVorbisCodebook checks one codebook (section 3.2.1). Its Huffman tree must be
// complete, or have one entry, as libvorbis requires: a decoder that meets a hole in a
// tree at the end of a packet may read zeros for ever.
func parseVorbisCodebook(r *vorbisBits) (vorbisBook, error) {
	if r.read(24) != vorbisCodebookTag {
		return vorbisBook{}, errors.New("no sync pattern")
	}
	bk := vorbisBook{dims: int(r.read(16)), entries: int(r.read(24))}
	if bk.dims == 0 || bk.entries == 0 || bits.Len(uint(bk.dims))+bits.Len(uint(bk.entries)) > 24 {
		return vorbisBook{}, fmt.Errorf("%d entries of %d dimensions", bk.entries, bk.dims)
	}
	if bk.entries > vorbisMaxEntries {
		return vorbisBook{}, fmt.Errorf("%d entries", bk.entries)
	}
	var kraft uint64 // the sum of 2^(32-length) over the entries used: 2^32 for a complete tree
	used := 0
	use := func(length uint32) {
		kraft += 1 << (32 - length)
		used++
	}
	if r.read(1) == 0 { // not ordered
		sparse := r.read(1) == 1
		if need := bk.entries * 5; !sparse && r.left() < need || sparse && r.left() < bk.entries {
			return vorbisBook{}, errors.New("cut short")
		}
		for range bk.entries {
			if !sparse || r.read(1) == 1 {
				use(r.read(5) + 1)
			}
		}
	} else {
		length := r.read(5) + 1
		for e := 0; e < bk.entries; length++ {
			if length > 32 {
				return vorbisBook{}, errors.New("codeword lengths over 32")
			}
			n := int(r.read(bits.Len(uint(bk.entries - e))))
			if e+n > bk.entries || r.short {
				return vorbisBook{}, errors.New("more codewords than entries")
			}
			for range n {
				use(length)
			}
			e += n
		}
	}
	if used == 0 || used > 1 && kraft != 1<<32 {
		return vorbisBook{}, fmt.Errorf("a Huffman tree that is not complete (%d entries used)", used)
	}
	switch lookup := r.read(4); lookup {
	case 0:
	case 1, 2:
		r.read(32) // minimum value
		r.read(32) // delta value
		valueBits := int(r.read(4)) + 1
		r.read(1) // sequence_p
		quant := bk.entries * bk.dims
		if lookup == 1 {
			quant = lookup1Values(bk.entries, bk.dims)
		}
		if !r.skip(quant * valueBits) {
			return vorbisBook{}, errors.New("cut short")
		}
		bk.vq = true
	default:
		return vorbisBook{}, fmt.Errorf("lookup type %d", lookup)
	}
	if r.short {
		return vorbisBook{}, errors.New("cut short")
	}
	return bk, nil
}

// lookup1Values is the greatest v whose dims-th power is at most entries (section
// 9.2.3), in integers.
func lookup1Values(entries, dims int) int {
	pow := func(v int) int { // v^dims, or entries+1 once it is larger
		p := 1
		for range dims {
			if p *= v; p > entries {
				return entries + 1
			}
		}
		return p
	}
	v := 1
	for pow(v+1) <= entries {
		v++
	}
	return v
}

// parseVorbisFloor checks one floor (sections 6.2.1 and 7.2.2).
func parseVorbisFloor(r *vorbisBits, book func(n uint32, vq bool) bool) error {
	switch typ := r.read(16); typ {
	case 0:
		order, rate, bark := r.read(8), r.read(16), r.read(16)
		r.read(6 + 8) // amplitude bits and offset
		if order == 0 || rate == 0 || bark == 0 {
			return errors.New("floor 0 of order, rate or Bark map size 0")
		}
		for range r.read(4) + 1 {
			if !book(r.read(8), true) {
				return errors.New("no such codebook")
			}
		}
	case 1:
		partitions := make([]uint32, r.read(5))
		classes := 0
		for i := range partitions {
			partitions[i] = r.read(4)
			classes = max(classes, int(partitions[i])+1)
		}
		dims := make([]int, classes)
		for i := range dims {
			dims[i] = int(r.read(3)) + 1
			sub := r.read(2)
			if sub != 0 && !book(r.read(8), false) {
				return errors.New("no such master codebook")
			}
			for range 1 << sub {
				if n := r.read(8); n != 0 && !book(n-1, false) {
					return errors.New("no such subclass codebook")
				}
			}
		}
		r.read(2) // multiplier
		rangeBits := int(r.read(4))
		seen := map[uint32]bool{0: true, 1 << rangeBits: true}
		for _, c := range partitions {
			for range dims[c] {
				x := r.read(rangeBits)
				if seen[x] {
					return errors.New("an X value twice")
				}
				seen[x] = true
			}
		}
		if len(seen) > 65 {
			return errors.New("over 65 X values")
		}
	default:
		return fmt.Errorf("type %d", typ)
	}
	if r.short {
		return errors.New("cut short")
	}
	return nil
}

// parseVorbisResidue checks one residue (section 8.6.1).
func parseVorbisResidue(r *vorbisBits, book func(n uint32, vq bool) bool) error {
	if typ := r.read(16); typ > 2 {
		return fmt.Errorf("type %d", typ)
	}
	r.read(24 + 24 + 24) // begin, end, partition size
	cascade := make([]uint32, r.read(6)+1)
	if !book(r.read(8), false) {
		return errors.New("no such classbook")
	}
	for i := range cascade {
		cascade[i] = r.read(3)
		if r.read(1) == 1 {
			cascade[i] |= r.read(5) << 3
		}
	}
	for _, c := range cascade {
		for j := range 8 {
			if c&(1<<j) != 0 && !book(r.read(8), true) {
				return errors.New("no such codebook")
			}
		}
	}
	if r.short {
		return errors.New("cut short")
	}
	return nil
}

// parseVorbisMapping checks one mapping (section 4.2.4, step 5).
func parseVorbisMapping(r *vorbisBits, channels, floors, residues int) error {
	if r.read(16) != 0 {
		return errors.New("a mapping type other than 0")
	}
	submaps := 1
	if r.read(1) == 1 {
		submaps = int(r.read(4)) + 1
	}
	if r.read(1) == 1 {
		width := bits.Len(uint(channels - 1))
		for range r.read(8) + 1 {
			m, a := int(r.read(width)), int(r.read(width))
			if m == a || m >= channels || a >= channels {
				return errors.New("a coupling of channels that are not there")
			}
		}
	}
	if r.read(2) != 0 {
		return errors.New("reserved bits set")
	}
	if submaps > 1 {
		for range channels {
			if int(r.read(4)) >= submaps {
				return errors.New("a channel mapped to no submap")
			}
		}
	}
	for range submaps {
		r.read(8)
		if int(r.read(8)) >= floors || int(r.read(8)) >= residues {
			return errors.New("no such floor or residue")
		}
	}
	if r.short {
		return errors.New("cut short")
	}
	return nil
}

// parseComments reads the vendor string and the user comments of a comment header
// (Vorbis I section 5.2.1, RFC 7845 section 5.2), after its magic.
func parseComments(b []byte) (vendor string, comments []string, err error) {
	bad := errors.New("malformed comments")
	str := func() (string, bool) {
		if len(b) < 4 {
			return "", false
		}
		n := binary.LittleEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return "", false
		}
		s := string(b[4 : 4+n])
		b = b[4+n:]
		return s, true
	}
	vendor, ok := str()
	if !ok || len(b) < 4 {
		return "", nil, bad
	}
	count := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if uint64(count) > uint64(len(b)/4) { // each comment takes at least its length field
		return "", nil, bad
	}
	for i := uint32(0); i < count; i++ {
		c, ok := str()
		if !ok {
			return "", nil, bad
		}
		comments = append(comments, c)
	}
	return vendor, comments, nil
}

// SilenceLong is the block of SilentPacket: long if the stream has a long mode.
func (h *VorbisHeaders) SilenceLong() bool {
	for _, long := range h.longMode {
		if long {
			return true
		}
	}
	return false
}

// SilentPacket returns an audio packet of the stream that decodes to silence, of the
// block SilenceLong says, to follow a packet of block prevLong: the packet type and
// mode, the window flags of a long block (the previous one's, and long for the next),
// then zeros, which say that no channel has a floor (section 4.3.2, step 4), so no
// residue is read and the spectrum is zero. The bytes go on as long as the longest
// floor header could read (a floor 0 amplitude of 63 bits), so a decoder never reads
// past its end.
func (h *VorbisHeaders) SilentPacket(prevLong bool) []byte {
	long := h.SilenceLong()
	mode := 0
	if long {
		mode = slices.Index(h.longMode, true)
	}
	modeBits := bits.Len(uint(len(h.longMode) - 1))
	pkt := make([]byte, (1+modeBits+2+64*h.Channels+7)/8)
	v := uint32(mode) << 1 // bit 0, the packet type, is 0: audio
	n := 1 + modeBits
	if long {
		v |= uint32(b2i(prevLong))<<n | 1<<(n+1)
	}
	for i := range 4 { // at most 1 + 6 + 2 bits
		pkt[i] = byte(v >> (8 * i))
	}
	return pkt
}
