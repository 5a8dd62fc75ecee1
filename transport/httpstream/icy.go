package httpstream

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/spacetui/spacetui/transport"
)

// maxMetaInt bounds the icy-metaint a server may ask for; servers use 8 KiB to 64 KiB.
const maxMetaInt = 1 << 20

// icyReader strips the ICY metadata a SHOUTcast-style server interleaves with the audio
// when asked (Icy-MetaData: 1): after every metaint bytes of audio, one length byte n
// and n*16 bytes of text such as StreamTitle='Artist - Song';StreamUrl='x'; padded
// with NULs. Read returns only the audio. Each new StreamTitle is kept with the offset
// of the audio it precedes, because the reader's consumer buffers ahead: the title is
// shown when the audio after it is played, not when it is read. Everything is bounded:
// a block is at most 255*16 bytes by the format, and at most maxTitles changes wait.
type icyReader struct {
	r         io.Reader
	metaint   int
	left      int   // audio bytes before the next metadata block
	delivered int64 // audio bytes returned so far
	meta      [255 * 16]byte
	last      string    // the newest title read
	titles    []titleAt // titles read and not yet taken, oldest first
	shown     string    // the title takeTitle last returned
}

// titleAt is a StreamTitle and the offset in the audio where it takes effect.
type titleAt struct {
	at    int64
	title string
}

// maxTitles bounds the titles waiting for their audio to be played; a server that
// changes its title more often than the consumer buffers audio loses the oldest.
const maxTitles = 16

func newICYReader(r io.Reader, metaint int) *icyReader {
	return &icyReader{r: r, metaint: metaint, left: metaint}
}

func (r *icyReader) Read(p []byte) (int, error) {
	for r.left == 0 {
		if err := r.readMeta(); err != nil {
			return 0, err
		}
	}
	if len(p) > r.left {
		p = p[:r.left]
	}
	n, err := r.r.Read(p)
	r.left -= n
	r.delivered += int64(n)
	return n, err
}

// readMeta reads one metadata block, which may be empty (a zero length byte).
func (r *icyReader) readMeta() error {
	var l [1]byte
	if _, err := io.ReadFull(r.r, l[:]); err != nil {
		return err
	}
	n := int(l[0]) * 16
	if _, err := io.ReadFull(r.r, r.meta[:n]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("icy metadata: %w", err)
	}
	r.left = r.metaint
	if t, ok := streamTitle(r.meta[:n]); ok && t != r.last {
		if len(r.titles) == maxTitles {
			r.titles = r.titles[1:]
		}
		r.last = t
		r.titles = append(r.titles, titleAt{at: r.delivered, title: t})
	}
	return nil
}

// takeTitle returns the title in effect once the consumer has taken all but buffered
// bytes of the audio read so far, and whether it changed since the last call.
func (r *icyReader) takeTitle(buffered int) (string, bool) {
	consumed := r.delivered - int64(buffered)
	changed := false
	for len(r.titles) > 0 && r.titles[0].at <= consumed {
		changed = changed || r.titles[0].title != r.shown
		r.shown = r.titles[0].title
		r.titles = r.titles[1:]
	}
	return r.shown, changed
}

// streamTitle finds StreamTitle='...' in a metadata block and returns its value,
// cleaned. Titles may hold apostrophes, so the value ends at the first "';" (the next
// field), else at the last apostrophe.
func streamTitle(meta []byte) (string, bool) {
	meta = bytes.TrimRight(meta, "\x00")
	const key = "StreamTitle='"
	i := bytes.Index(meta, []byte(key))
	if i < 0 {
		return "", false
	}
	v := meta[i+len(key):]
	if j := bytes.Index(v, []byte("';")); j >= 0 {
		v = v[:j]
	} else if j := bytes.LastIndexByte(v, '\''); j >= 0 {
		v = v[:j]
	}
	return transport.Sanitize(latin1(string(v)), transport.MaxNameRunes), true
}

// latin1 returns s as it is when it is UTF-8, else reads its bytes as ISO-8859-1, the
// encoding of many ICY servers' names and titles.
func latin1(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// watchdog gives up a response body that sends nothing for timeout while it is being
// read: it closes the body, and the Read in progress fails with transport.ErrStalled.
// Time spent between reads (pacing the audio already buffered) does not count.
type watchdog struct {
	body    io.ReadCloser
	timeout time.Duration
	timer   *time.Timer
	fired   atomic.Bool
	once    sync.Once
}

func newWatchdog(body io.ReadCloser, timeout time.Duration) *watchdog {
	w := &watchdog{body: body, timeout: timeout}
	w.timer = time.AfterFunc(timeout, func() {
		w.fired.Store(true)
		_ = w.Close()
	})
	w.timer.Stop()
	return w
}

func (w *watchdog) Read(p []byte) (int, error) {
	w.timer.Reset(w.timeout)
	n, err := w.body.Read(p)
	w.timer.Stop()
	if err != nil && w.fired.Load() {
		return n, fmt.Errorf("%w: nothing for %s", transport.ErrStalled, w.timeout)
	}
	return n, err
}

// stalled reports whether the watchdog gave the body up.
func (w *watchdog) stalled() bool { return w.fired.Load() }

// Close closes the body once; it is safe to call from any goroutine.
func (w *watchdog) Close() error {
	var err error
	w.once.Do(func() {
		w.timer.Stop()
		err = w.body.Close()
	})
	return err
}
