package streamtest

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/realserver"
)

// NeedPrograms skips the test unless the programs named are installed; under
// SPACETUI_E2E=require (CI) a missing program fails the test instead.
func NeedPrograms(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		_, err := Binary(name)
		realserver.Need(t, err)
	}
}

// IcecastT starts an Icecast for the test and stops it at the test's end; its logs are
// quoted if the test fails.
func IcecastT(t testing.TB, opts IcecastOptions) *Icecast {
	t.Helper()
	NeedPrograms(t, "icecast2", "ffmpeg")
	opts.Dir = t.TempDir()
	out := filepath.Join(opts.Dir, "icecast.out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	opts.Log = f
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := StartIcecast(ctx, opts)
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range []string{out, filepath.Join(s.LogDir, "error.log")} {
				if b, err := os.ReadFile(p); err == nil {
					t.Logf("icecast2 %s (last 4 KiB):\n%s", filepath.Base(p), b[max(0, len(b)-4<<10):])
				}
			}
		}
		_ = s.Stop()
		f.Close()
	})
	return s
}

// SourceT feeds mount of s from FFmpeg until the test ends; FFmpeg's errors go to the
// test log.
func SourceT(t testing.TB, s *Icecast, mount string, opts SourceOptions) *Source {
	t.Helper()
	if opts.Log == nil {
		opts.Log = logWriter{t}
	}
	src, err := s.StartSource(t.Context(), mount, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Stop() })
	return src
}

// logWriter sends a process's output to the test log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Logf("ffmpeg: %s", b)
	return len(b), nil
}

// HLST runs FFmpeg's live HLS output of the demo room until the test ends, served over
// HTTP by an Origin, and returns the playlist's URL once it lists a segment.
func HLST(t testing.TB, opts HLSOptions) string {
	t.Helper()
	return OriginT(t, &Origin{Dir: HLSDirT(t, opts)}) + "/" + hlsPlaylist
}

// HLSDirT runs FFmpeg's live HLS output of the demo room until the test ends, and
// returns the directory it writes once the playlist lists a segment.
func HLSDirT(t testing.TB, opts HLSOptions) string {
	t.Helper()
	NeedPrograms(t, "ffmpeg")
	if opts.Log == nil {
		opts.Log = logWriter{t}
	}
	dir := t.TempDir()
	h, err := StartHLS(t.Context(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Stop() })
	return dir
}

// OriginT serves o over HTTP until the test ends and returns its base URL.
func OriginT(t testing.TB, o *Origin) string {
	t.Helper()
	return OriginServerT(t, o).URL
}

// OriginServer serves an Origin over HTTP on an address that outlives the server, so a
// test can kill it and start it again, as a CDN node that restarts.
type OriginServer struct {
	// URL is the server's base URL.
	URL string

	o    *Origin
	addr string
	mu   sync.Mutex
	srv  *httptest.Server
}

// OriginServerT serves o on a free port until the test ends.
func OriginServerT(t testing.TB, o *Origin) *OriginServer {
	t.Helper()
	srv := httptest.NewServer(o)
	s := &OriginServer{URL: srv.URL, o: o, addr: srv.Listener.Addr().String(), srv: srv}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// Stop kills the server: open connections are closed, new ones refused. It is
// idempotent.
func (s *OriginServer) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.CloseClientConnections()
		s.srv.Close()
		s.srv = nil
	}
	return nil
}

// Start serves again on the same address after Stop.
func (s *OriginServer) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.srv = httptest.NewUnstartedServer(s.o)
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	return nil
}

// SegmentsT has FFmpeg write the first seconds of the demo room as a finished HLS
// stream of opts.Format into a directory of the test's, and returns the directory and
// the playlist: the segments a Window plays in a loop.
func SegmentsT(t testing.TB, opts HLSOptions, seconds int) (string, Playlist) {
	t.Helper()
	NeedPrograms(t, "ffmpeg")
	if opts.Log == nil {
		opts.Log = logWriter{t}
	}
	dir := t.TempDir()
	pl, err := MakeSegments(t.Context(), dir, opts, seconds)
	if err != nil {
		t.Fatal(err)
	}
	return dir, pl
}
