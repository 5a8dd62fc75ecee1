//go:build cgo && linux

package audio

// ALSA and JACK print their probing to stderr: opening PortAudio walks every PCM in
// alsa.conf (surround51, iec958, hdmi, ... : "ALSA lib pcm.c:2666: Unknown PCM") and asks
// a JACK server that is not running ("jack server is not running or cannot be started"),
// 80 lines on a machine with PulseAudio and no card. None of it is an error of ours:
// whatever fails for real comes back through PortAudio's return codes, which the binding
// turns into Go errors (with ALSA's error text for a host error), so the libraries'
// messages are dropped.
//
// The functions are looked up in the process rather than linked: libportaudio brings
// libasound and libjack with it where it was built with them, and a build without them
// has nothing to silence.

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>

static void spacetui_alsa_quiet(const char *file, int line, const char *function, int err, const char *fmt, ...) {}
static void spacetui_jack_quiet(const char *msg) {}

typedef void (*alsa_handler)(const char *, int, const char *, int, const char *, ...);
typedef int (*alsa_set_handler)(alsa_handler);
typedef void (*jack_set_function)(void (*)(const char *));

static void spacetui_quiet_sound_libraries(void) {
	alsa_set_handler alsa = (alsa_set_handler)dlsym(RTLD_DEFAULT, "snd_lib_error_set_handler");
	if (alsa != NULL) {
		alsa(spacetui_alsa_quiet);
	}
	const char *jack[] = {"jack_set_error_function", "jack_set_info_function"};
	for (size_t i = 0; i < sizeof jack / sizeof jack[0]; i++) {
		jack_set_function set = (jack_set_function)dlsym(RTLD_DEFAULT, jack[i]);
		if (set != NULL) {
			set(spacetui_jack_quiet);
		}
	}
}
*/
import "C"

// quietSoundLibraries installs handlers that drop ALSA's and JACK's messages. It runs
// before PortAudio initializes, once: the handlers are process-wide.
func quietSoundLibraries() { C.spacetui_quiet_sound_libraries() }
