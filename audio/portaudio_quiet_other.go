//go:build cgo && !linux

package audio

// quietSoundLibraries has nothing to do where PortAudio does not sit on ALSA: the
// host APIs of macOS and Windows do not print their probing.
func quietSoundLibraries() {}
