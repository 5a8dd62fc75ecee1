//go:build !cgo

package audio

// Devices lists the audio output devices; without cgo there is no PortAudio, so it
// returns ErrNeedsFullBuild.
func Devices() ([]Device, error) { return nil, ErrNeedsFullBuild }

func openDevice(string) (Sink, error) { return nil, ErrNeedsFullBuild }
