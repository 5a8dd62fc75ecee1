//go:build !cgo

package server

// newFrameMixer fails without cgo: mixing needs libopus, and listen.ogg answers 501.
func newFrameMixer() (frameMixer, error) { return nil, errNoMixer }
