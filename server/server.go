// Package server is the reference room server of spacetui's own protocol
// (docs/protocol.md): rooms made from Ogg Opus files with optional WebVTT captions,
// played in real time and looped forever, fanned out to WebSocket listeners, and mixed
// live as an Ogg Opus stream at /rooms/{id}/listen.ogg for ordinary players.
//
// It owns the room clock and pacing (one goroutine per room, ticking at absolute times),
// the per-room replay window and resumable sessions, the listeners' bounded queues and
// the overload signals (503 with a spread Retry-After before the upgrade, 1013 for a
// listener too slow to keep up or shed by Shed, 1012 on shutdown). The embedded demo room
// is built the same way from server/demo, which scripts/make-demo.sh regenerates.
//
// For tests of clients it fakes failures (Faults): in process with SetFaults, from the
// command line with --faults, and at run time with POST /admin/faults from loopback. It
// logs every connection attempt (msg="join accepted" or msg="join refused" with a
// reason=) and keeps the last ones for Attempts.
//
// A file room (--room ID=FILE.ogg[,FILE.vtt]) follows these rules:
//   - The Ogg file holds one Opus stream of 20 ms packets (opusenc --framesize 20), each
//     at most 1,275 bytes; its TITLE tag, if any, is the room's title. The file loops
//     forever; the room clock keeps counting across loops.
//   - Speakers are the distinct <v Name> voices of the WebVTT cues, in order of first
//     appearance; the first is the host. Ids are the names folded to a-z, 0-9 and '-'.
//     A 20 ms frame belongs to the speaker whose cue covers it; in a pause of under
//     1 s, to the speaker of the cue before (or, before the first cue, after); otherwise,
//     and for cues without a voice or without any WebVTT, to a speaker "room".
//   - Captions: each cue is sent as growing partial segments (its words revealed
//     evenly, about four updates a second), then final at its end; ids are "c<N>-<loop>".
//     A cue's text over 500 code points (wire.MaxTextRunes) is truncated with "…", never
//     refused; names over 80 are truncated too. Malformed cues are skipped; a WebVTT
//     file over 4 MiB is refused and cues past the 20,000th are ignored.
package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/wire"
)

// Clock is the time source of the server: room pacing, heartbeats and timeouts. Tests
// use a fake one; the zero Config uses transport.SystemClock.
type Clock = transport.Clock

// Defaults and limits of the configuration.
const (
	// DefaultReplayWindow is how much recent audio and transcript a room keeps.
	DefaultReplayWindow = 30 * time.Second
	// DemoRoomID is the id of the embedded demo room.
	DemoRoomID = "demo"
	// maxRoomFile bounds the Ogg file of a room, which is held in memory.
	maxRoomFile = 256 << 20
	// retryAfterBase and retryAfterSpread make the Retry-After of a refusal for load
	// (503, 1013 when shedding): base plus a uniform random 0 to spread, in seconds.
	retryAfterBase   = 5
	retryAfterSpread = 10
)

// Config configures a Server.
type Config struct {
	// Addr is the address to listen on, for callers that create the listener from it
	// (Serve takes a listener and does not read it).
	Addr string
	// Rooms are the rooms made from files, besides the demo room.
	Rooms []RoomSpec
	// NoDemo leaves out the embedded demo room.
	NoDemo bool
	// MaxListeners bounds the clients of each room (WebSocket and listen.ogg);
	// 0 means unlimited. A full room refuses with 503 and Retry-After.
	MaxListeners int
	// ReplayWindow is how much of its recent past each room keeps for resuming
	// listeners; 0 means DefaultReplayWindow.
	ReplayWindow time.Duration
	// Logger receives a line for every connection accepted or refused; nil discards.
	Logger *slog.Logger
	// Clock paces the rooms; nil means the system clock.
	Clock Clock
	// Faults are the faults in force from the start (see SetFaults).
	Faults Faults
	// AdmitRate, when positive, paces the crowd: at most this many joins a second are
	// admitted, and a listener refused for load gets a waiting-room slot at this rate
	// as its Retry-After. 0 admits as fast as listeners come and spreads Retry-After
	// at random.
	AdmitRate float64
}

// RoomSpec names a room made from an Ogg Opus file (20 ms packets) and an optional
// WebVTT file whose voice tags (<v Name>) name the speakers.
type RoomSpec struct {
	ID, OggPath, VTTPath string
}

// ParseRoomFlag parses the value of --room: ID=FILE.ogg or ID=FILE.ogg,FILE.vtt. An id
// is 1 to 80 characters of a-z, 0-9 and '-'.
func ParseRoomFlag(s string) (RoomSpec, error) {
	id, files, ok := strings.Cut(s, "=")
	if !ok || files == "" {
		return RoomSpec{}, fmt.Errorf("room %q: want ID=FILE.ogg[,FILE.vtt]", s)
	}
	if err := checkRoomID(id); err != nil {
		return RoomSpec{}, err
	}
	spec := RoomSpec{ID: id, OggPath: files}
	if i := strings.LastIndexByte(files, ','); i >= 0 {
		spec.OggPath, spec.VTTPath = files[:i], files[i+1:]
		if spec.OggPath == "" || spec.VTTPath == "" {
			return RoomSpec{}, fmt.Errorf("room %q: want ID=FILE.ogg[,FILE.vtt]", s)
		}
	}
	return spec, nil
}

func checkRoomID(id string) error {
	if id == "" || len(id) > wire.MaxNameRunes {
		return fmt.Errorf("room id %q: want 1 to %d characters", id, wire.MaxNameRunes)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("room id %q: only a-z, 0-9 and '-' are allowed", id)
		}
	}
	return nil
}

// Server is the reference room server. Its rooms play while Run (or Serve) runs.
type Server struct {
	log      *slog.Logger
	clock    Clock
	rooms    map[string]*room
	ids      []string
	handler  http.Handler
	attempts attemptLog

	faults        atomic.Pointer[Faults] // nil: no fault, the common case, one load to check
	faultsMu      sync.Mutex             // serializes SetFaults
	faultsChanged chan struct{}          // closed and replaced by SetFaults
	pacer         *pacer                 // nil unless Config.AdmitRate

	runMu   sync.Mutex
	running bool // Run or Serve is running
}

// New loads every room (the demo room unless cfg.NoDemo, then cfg.Rooms in order) and
// returns a server ready to Serve. A file that cannot be read or parsed is an error.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = transport.SystemClock{}
	}
	if cfg.ReplayWindow == 0 {
		cfg.ReplayWindow = DefaultReplayWindow
	}
	if cfg.ReplayWindow < 0 || cfg.MaxListeners < 0 || cfg.AdmitRate < 0 {
		return nil, errors.New("server: negative replay window, max listeners or admit rate")
	}
	s := &Server{log: cfg.Logger, clock: cfg.Clock, rooms: make(map[string]*room), faultsChanged: make(chan struct{})}
	if cfg.AdmitRate > 0 {
		s.pacer = newPacer(cfg.AdmitRate, cfg.Clock)
	}
	// A room's title is its file's TITLE tag, or else its id.
	add := func(id string, ogg, vtt []byte) error {
		if _, dup := s.rooms[id]; dup {
			return fmt.Errorf("room %q: defined twice", id)
		}
		c, err := newContent(ogg, vtt)
		if err != nil {
			return fmt.Errorf("room %q: %w", id, err)
		}
		title := c.title
		if title == "" {
			title = id
		}
		r, err := newRoom(id, title, c, cfg, &s.faults)
		if err != nil {
			return fmt.Errorf("room %q: %w", id, err)
		}
		s.rooms[id] = r
		s.ids = append(s.ids, id)
		return nil
	}
	if !cfg.NoDemo {
		if err := add(DemoRoomID, demoOgg, demoVTT); err != nil {
			return nil, err
		}
	}
	for _, spec := range cfg.Rooms {
		if err := checkRoomID(spec.ID); err != nil {
			return nil, err
		}
		ogg, err := readBounded(spec.OggPath)
		if err != nil {
			return nil, fmt.Errorf("room %q: %w", spec.ID, err)
		}
		var vtt []byte
		if spec.VTTPath != "" {
			if vtt, err = readBounded(spec.VTTPath); err != nil {
				return nil, fmt.Errorf("room %q: %w", spec.ID, err)
			}
		}
		if err := add(spec.ID, ogg, vtt); err != nil {
			return nil, err
		}
	}
	if len(s.ids) == 0 {
		return nil, errors.New("server: no rooms (--no-demo and no --room)")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rooms", s.serveList)
	mux.HandleFunc("GET /rooms/{id}", s.serveRoom)
	mux.HandleFunc("GET /rooms/{id}/listen.ogg", s.serveListen)
	mux.HandleFunc("GET /admin/faults", s.serveFaults)
	mux.HandleFunc("POST /admin/faults", s.serveFaults)
	s.handler = mux
	s.SetFaults(cfg.Faults)
	return s, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if fi.Size() > maxRoomFile {
		return nil, fmt.Errorf("%s: over %d bytes", path, maxRoomFile)
	}
	return os.ReadFile(path)
}

// RoomIDs returns the ids of the rooms, the demo room first.
func (s *Server) RoomIDs() []string { return append([]string(nil), s.ids...) }

// Handler returns the HTTP handler of the server: GET /rooms, GET /rooms/{id} (JSON, or
// the WebSocket of the room), GET /rooms/{id}/listen.ogg, and GET and POST
// /admin/faults for loopback clients (see Faults). Rooms answer only while Run or Serve
// runs; mount it in an http.Server of your own together with Run.
func (s *Server) Handler() http.Handler { return s.handler }

// Run plays every room until ctx is cancelled, then closes every WebSocket with 1012
// (restart) and ends every listen.ogg stream, and returns once their handlers are done.
// Use it with Handler in an http.Server of your own; Serve does both. It returns an
// error if the server is already running.
func (s *Server) Run(ctx context.Context) error {
	if err := s.claim(); err != nil {
		return err
	}
	defer s.unclaim()
	s.runRooms(ctx)
	return nil
}

func (s *Server) claim() error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.running {
		return errors.New("server: already running")
	}
	s.running = true
	return nil
}

func (s *Server) unclaim() {
	s.runMu.Lock()
	s.running = false
	s.runMu.Unlock()
}

func (s *Server) runRooms(ctx context.Context) {
	var wg sync.WaitGroup
	for _, r := range s.rooms {
		wg.Go(func() { r.run(ctx) })
	}
	wg.Wait()
}

// Serve runs the rooms and serves HTTP on ln until ctx is cancelled; then it closes
// every WebSocket with 1012 (restart), shuts the HTTP server down and returns nil. It
// returns the error that made the listener fail, if one did. The HTTP server has no
// WriteTimeout, which would cut long streams: each write has its own deadline instead.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.claim(); err != nil {
		return err
	}
	defer s.unclaim()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ran := make(chan struct{})
	go func() { defer close(ran); s.runRooms(ctx) }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(faultListener{Listener: ln, s: s}) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	cancel()
	<-ran // every room has stopped and every WebSocket has had its 1012
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	if err == nil {
		<-served
	}
	return err
}

// serveList answers GET /rooms. It is never refused for load.
func (s *Server) serveList(w http.ResponseWriter, req *http.Request) {
	list := make([]roomInfo, 0, len(s.ids))
	for _, id := range s.ids {
		list = append(list, s.rooms[id].info(baseURL(req)))
	}
	writeJSON(w, list)
}

// serveRoom answers GET /rooms/{id}: the room's WebSocket for an upgrade request, its
// JSON description otherwise.
func (s *Server) serveRoom(w http.ResponseWriter, req *http.Request) {
	rm := s.lookup(w, req)
	if rm == nil {
		return
	}
	if !isUpgrade(req) {
		writeJSON(w, rm.info(baseURL(req)))
		return
	}
	s.serveWebSocket(w, req, rm)
}

// lookup finds the room of the request or answers 404.
func (s *Server) lookup(w http.ResponseWriter, req *http.Request) *room {
	rm, ok := s.rooms[req.PathValue("id")]
	if !ok {
		s.note(Attempt{Room: transport.Sanitize(req.PathValue("id"), wire.MaxNameRunes), Remote: req.RemoteAddr,
			Listen: strings.HasSuffix(req.URL.Path, "/listen.ogg"), Reason: ReasonNotFound})
		http.Error(w, "no such room", http.StatusNotFound)
	}
	return rm
}

// admit takes a place in rm for a client (listen: of listen.ogg), or refuses it with
// 503 and a Retry-After when the Overload fault is on, the admission rate is spent, the
// room is full or it is not running (yet, or any more). The caller releases the place
// it got.
func (s *Server) admit(w http.ResponseWriter, req *http.Request, rm *room, listen bool) (place, bool) {
	err := errOverloaded
	if f := s.faults.Load(); (f == nil || !f.Overload) && (s.pacer == nil || s.pacer.take()) {
		var p place
		if p, err = rm.reserve(); err == nil {
			return p, true
		}
	}
	s.refuse(w, req, rm, listen, err)
	return place{}, false
}

// refuse answers a client that cannot have a place with 503 and a Retry-After of its own.
func (s *Server) refuse(w http.ResponseWriter, req *http.Request, rm *room, listen bool, err error) {
	reason := ReasonNotRunning
	switch {
	case errors.Is(err, errOverloaded):
		reason = ReasonOverloaded
	case errors.Is(err, errRoomFull):
		reason = ReasonRoomFull
	}
	ra := s.retryAfterSeconds()
	s.note(Attempt{Room: rm.id, Remote: req.RemoteAddr, Listen: listen, Reason: reason, RetryAfter: time.Duration(ra) * time.Second})
	w.Header().Set("Retry-After", strconv.Itoa(ra))
	http.Error(w, err.Error(), http.StatusServiceUnavailable)
}

func isUpgrade(req *http.Request) bool {
	return strings.EqualFold(req.Header.Get("Upgrade"), "websocket")
}

func baseURL(req *http.Request) string {
	if req.TLS != nil {
		return "wss://" + req.Host
	}
	return "ws://" + req.Host
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// newID returns a random identifier for a session or an epoch.
func newID() string { return strings.ToLower(rand.Text()) }
