package httpstream

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/internal/fakeclock"
	"github.com/spacetui/spacetui/transport"
)

// oggStream is one Ogg Opus stream of n 20 ms packets with the given comments, ended by
// an end-of-stream page, as a chained stream's links are.
func oggStream(t testing.TB, serial uint32, n int, comments ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := audio.NewOggWriter(&b, audio.OggOptions{Channels: 1, Serial: serial, Comments: comments})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := w.WritePacket(audio.SilencePacket()); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withICY interleaves ICY metadata into body every metaint bytes: the title of block
// i is title(i), or an empty block when that is "".
func withICY(body []byte, metaint int, title func(i int) string) []byte {
	var out []byte
	for i := 0; len(body) > 0; i++ {
		n := min(metaint, len(body))
		out = append(out, body[:n]...)
		body = body[n:]
		if n < metaint {
			break
		}
		meta := ""
		if s := title(i); s != "" {
			meta = "StreamTitle='" + s + "';StreamUrl='';"
		}
		blocks := (len(meta) + 15) / 16
		out = append(out, byte(blocks))
		out = append(out, meta...)
		out = append(out, make([]byte, blocks*16-len(meta))...)
	}
	return out
}

// stream is what a test server answers.
type stream struct {
	status  int
	headers map[string]string
	body    []byte
	finite  bool // send a Content-Length
}

// serve answers every GET with s, flushing as it goes when the stream is not finite.
func serve(t testing.TB, s stream) *url.URL {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range s.headers {
			w.Header()[k] = []string{v}
		}
		if s.finite {
			w.Header().Set("Content-Length", strconv.Itoa(len(s.body)))
		}
		status := s.status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		if s.finite {
			_, _ = w.Write(s.body)
			return
		}
		for b := s.body; len(b) > 0; {
			n := min(len(b), 4096)
			if _, err := w.Write(b[:n]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			b = b[n:]
		}
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL + "/live.ogg")
	return u
}

// dialFake dials u with a clock that moves itself, so pacing costs no time; the
// clock's Waits are the pacing.
func dialFake(t testing.TB, u *url.URL, opts transport.DialOptions) (transport.Conn, *fakeclock.Clock, error) {
	t.Helper()
	clk := fakeclock.New(time.Unix(1_700_000_000, 0))
	c, err := (&dialer{clock: clk}).Dial(context.Background(), u, opts)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, clk, err
}

// drain reads events until the Conn fails or the room ends, at most limit.
func drain(t testing.TB, c transport.Conn, limit int) ([]transport.Event, error) {
	t.Helper()
	var evs []transport.Event
	for len(evs) < limit {
		ev, err := c.Recv(context.Background())
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
		if _, ok := ev.(transport.Ended); ok {
			return evs, nil
		}
	}
	return evs, errors.New("too many events")
}
