//go:build !cgo

package audio

// Encoder encodes Opus; without cgo there is no libopus, and NewEncoder returns
// ErrNeedsFullBuild.
type Encoder struct{}

// NewEncoder returns ErrNeedsFullBuild: Opus encoding needs cgo.
func NewEncoder(bitrate int) (*Encoder, error) { return nil, ErrNeedsFullBuild }

// Encode returns ErrNeedsFullBuild.
func (e *Encoder) Encode(pcm []int16) ([]byte, error) { return nil, ErrNeedsFullBuild }
