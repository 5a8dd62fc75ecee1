//go:build !cgo

package audio

// Decoder decodes one speaker's Opus stream; without cgo there is no libopus, and
// NewDecoder returns ErrNeedsFullBuild.
type Decoder struct{}

// NewDecoder returns ErrNeedsFullBuild: Opus decoding needs cgo.
func NewDecoder() (*Decoder, error) { return nil, ErrNeedsFullBuild }

// Decode returns ErrNeedsFullBuild.
func (d *Decoder) Decode(pkt []byte, pcm []int16) (int, error) { return 0, ErrNeedsFullBuild }

// Conceal returns ErrNeedsFullBuild.
func (d *Decoder) Conceal(next []byte, pcm []int16) error { return ErrNeedsFullBuild }

// Reset returns ErrNeedsFullBuild.
func (d *Decoder) Reset() error { return ErrNeedsFullBuild }
