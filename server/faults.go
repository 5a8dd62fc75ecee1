package server

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Faults are the failures the server can fake, for tests of clients. The zero value is
// a healthy server. Overload, Stall, BlackHole, SlowDrip, Duplicate and Reorder are
// states that last until the next SetFaults; ShedAll and AbruptClose are actions that
// SetFaults performs once, on the listeners connected at that moment.
//
// As a spec (the --faults flag, POST /admin/faults, ParseFaults) faults are the words
// overload, stall, blackhole, slowdrip, duplicate, reorder, shedall and abruptclose,
// comma-separated, case-insensitive; "none" or an empty spec is the zero value. A spec
// sets the whole state: "stall" after "overload,stall" turns overload off.
type Faults struct {
	// Overload refuses every new WebSocket and listen.ogg client with 503 and a spread
	// Retry-After, as a full room does. GET /rooms still answers.
	Overload bool
	// ShedAll closes every connected listener with 1013 and the reason
	// "overloaded; retry-after=N", N spread as for 503 (see Server.Shed).
	ShedAll bool
	// Stall keeps every connection open but sends nothing on it, heartbeats included:
	// what would be sent is discarded (a new client gets no hello). The server stops
	// closing silent clients while it lasts and counts them all as heard when it ends.
	Stall bool
	// BlackHole upgrades new WebSocket connections but neither reads nor writes them
	// (join is never answered, the join timeout does not run) until the fault is lifted
	// or the server stops; connected listeners are stalled as by Stall.
	BlackHole bool
	// SlowDrip writes every byte sent on every connection dripBytes at a time with a
	// pause of dripPause in between (about 1.6 kB/s): a listener soon falls behind the
	// room and is dropped with 1013 as too slow. It needs Serve (it wraps the
	// net.Listener); a server mounted with Handler alone ignores it.
	SlowDrip bool
	// AbruptClose drops the TCP connection of every connected listener without a
	// WebSocket close frame.
	AbruptClose bool
	// Duplicate sends every duplicateEvery-th audio message of a connection twice.
	Duplicate bool
	// Reorder swaps every reorderEvery-th audio message of a connection with the next
	// one (frames of adjacent ticks arrive in the wrong order).
	Reorder bool
}

// Parameters of the faults.
const (
	dripBytes      = 8
	dripPause      = 5 * time.Millisecond
	duplicateEvery = 5
	reorderEvery   = 5
	// maxFaultSpec bounds the body of POST /admin/faults.
	maxFaultSpec = 1 << 10
)

// faultWords are the words of a fault spec, in the order String writes them, with what
// each does in a line of `serve --help`.
var faultWords = []struct {
	word, doc string
	flag      func(*Faults) *bool
}{
	{"overload", "refuse new listeners with 503 and a spread Retry-After", func(f *Faults) *bool { return &f.Overload }},
	{"shedall", "close every listener with 1013 and a retry-after hint", func(f *Faults) *bool { return &f.ShedAll }},
	{"stall", "keep connections open but send nothing, heartbeats included", func(f *Faults) *bool { return &f.Stall }},
	{"blackhole", "upgrade new connections and never answer them", func(f *Faults) *bool { return &f.BlackHole }},
	{"slowdrip", "send every byte at about 1.6 kB/s", func(f *Faults) *bool { return &f.SlowDrip }},
	{"abruptclose", "drop every listener's TCP connection without a close frame", func(f *Faults) *bool { return &f.AbruptClose }},
	{"duplicate", "send every 5th audio message twice", func(f *Faults) *bool { return &f.Duplicate }},
	{"reorder", "swap every 5th audio message with the next", func(f *Faults) *bool { return &f.Reorder }},
}

// FaultHelp lists every fault word with what it does, one per line, for help texts.
func FaultHelp() string {
	var b strings.Builder
	for _, fw := range faultWords {
		fmt.Fprintf(&b, "  %-12s %s\n", fw.word, fw.doc)
	}
	fmt.Fprintf(&b, "  %-12s lift every fault", "none")
	return b.String()
}

// ParseFaults parses a fault spec (see Faults), e.g. "overload,stall".
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	for _, w := range strings.Split(spec, ",") {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "" || w == "none" {
			continue
		}
		found := false
		for _, fw := range faultWords {
			if fw.word == w {
				*fw.flag(&f), found = true, true
			}
		}
		if !found {
			words := make([]string, len(faultWords))
			for i, fw := range faultWords {
				words[i] = fw.word
			}
			return Faults{}, fmt.Errorf("unknown fault %.40q: want none or some of %s", w, strings.Join(words, ","))
		}
	}
	return f, nil
}

// String returns f as a spec that ParseFaults reads back: "none" for no fault.
func (f Faults) String() string {
	var words []string
	for _, fw := range faultWords {
		if *fw.flag(&f) {
			words = append(words, fw.word)
		}
	}
	if len(words) == 0 {
		return "none"
	}
	return strings.Join(words, ",")
}

// silencing reports whether f keeps the server from sending on connected listeners.
func (f *Faults) silencing() bool { return f.Stall || f.BlackHole }

// SetFaults sets the state of the faults and performs the actions of f (ShedAll,
// AbruptClose) on the listeners connected now. It is safe to call at any time.
func (s *Server) SetFaults(f Faults) {
	state := f
	state.ShedAll, state.AbruptClose = false, false
	s.faultsMu.Lock()
	prev := s.faults.Load()
	if state == (Faults{}) {
		s.faults.Store(nil)
	} else {
		s.faults.Store(&state)
	}
	close(s.faultsChanged)
	s.faultsChanged = make(chan struct{})
	s.faultsMu.Unlock()
	s.log.Info("faults set", "faults", f.String())

	if prev != nil && prev.silencing() && !state.silencing() {
		for _, r := range s.rooms {
			r.heardAll()
		}
	}
	if f.AbruptClose {
		for _, r := range s.rooms {
			r.closeListeners(1, closeAbrupt, func() string { return "" })
		}
	}
	if f.ShedAll {
		s.Shed(1)
	}
}

// Faults returns the faults in force (states only; actions are never kept).
func (s *Server) Faults() Faults {
	if f := s.faults.Load(); f != nil {
		return *f
	}
	return Faults{}
}

// Shed closes a fraction (0 to 1, rounded up) of the WebSocket listeners of every room,
// chosen arbitrarily, with 1013 and the reason "overloaded; retry-after=N", each with
// its own N spread as a 503's Retry-After is, and returns how many it closed. Their
// sessions stay resumable.
func (s *Server) Shed(fraction float64) int {
	n := 0
	for _, r := range s.rooms {
		n += r.closeListeners(fraction, websocket.StatusTryAgainLater, func() string {
			return fmt.Sprintf("overloaded; retry-after=%d", s.retryAfterSeconds())
		})
	}
	s.log.Info("shed listeners", "fraction", fraction, "closed", n)
	return n
}

// retryAfterSeconds is the Retry-After of one refusal for load: a waiting-room slot when
// the server paces the crowd, else retryAfterBase plus a uniform random 0 to
// retryAfterSpread seconds, so that a crowd refused at the same moment is not told to
// come back at the same second.
func (s *Server) retryAfterSeconds() int {
	if s.pacer != nil {
		return s.pacer.retryAfter()
	}
	return retryAfterBase + rand.IntN(retryAfterSpread+1)
}

// holdBlackHoled holds a new connection while the BlackHole fault lasts. It returns
// false when the room stopped first.
func (s *Server) holdBlackHoled(stopped <-chan struct{}) bool {
	for {
		s.faultsMu.Lock()
		f, changed := s.faults.Load(), s.faultsChanged
		s.faultsMu.Unlock()
		if f == nil || !f.BlackHole {
			return true
		}
		select {
		case <-stopped:
			return false
		case <-changed:
		}
	}
}

// frameFaults is one connection's state for the faults applied as it writes.
type frameFaults struct {
	audio   int     // audio messages seen
	held    message // Reorder: the audio message waiting for the next one
	holding bool
}

// add appends to out what is to be written for m under the faults f (nil: none):
// nothing under Stall or BlackHole, m twice under Duplicate, m after the next audio
// message under Reorder. A message held back goes out after the next audio message even
// once Reorder is off.
func (ff *frameFaults) add(out []message, m message, f *Faults) []message {
	if f == nil && !ff.holding {
		return append(out, m)
	}
	if f != nil && f.silencing() {
		return out
	}
	if !m.binary {
		return append(out, m)
	}
	ff.audio++
	if f != nil && f.Reorder && !ff.holding && ff.audio%reorderEvery == 0 {
		ff.held, ff.holding = m, true
		return out
	}
	out = append(out, m)
	if ff.holding {
		out = append(out, ff.held)
		ff.held, ff.holding = message{}, false
	}
	if f != nil && f.Duplicate && ff.audio%duplicateEvery == 0 {
		out = append(out, m)
	}
	return out
}

// faultListener wraps the listener Serve accepts on, for SlowDrip.
type faultListener struct {
	net.Listener
	s *Server
}

// Accept wraps each connection so that SlowDrip can slow its writes.
func (fl faultListener) Accept() (net.Conn, error) {
	c, err := fl.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &faultConn{Conn: c, s: fl.s}, nil
}

// faultConn is a connection whose writes drip while SlowDrip is on.
type faultConn struct {
	net.Conn
	s *Server
}

// Write writes p, dripBytes at a time with pauses while SlowDrip is on. The pauses are
// real time: they slow real bytes on a real socket.
func (c *faultConn) Write(p []byte) (int, error) {
	if f := c.s.faults.Load(); f == nil || !f.SlowDrip {
		return c.Conn.Write(p)
	}
	n := 0
	for n < len(p) {
		k, err := c.Conn.Write(p[n:min(n+dripBytes, len(p))])
		n += k
		if err != nil {
			return n, err
		}
		time.Sleep(dripPause)
	}
	return n, nil
}

// serveFaults answers GET and POST /admin/faults for processes on this machine only:
// GET returns the faults in force as a spec, POST sets them from the spec in the body
// (see Faults) and returns the new state. Anything not from a loopback address, or
// relayed by a proxy (Forwarded, X-Forwarded-For), gets 403.
func (s *Server) serveFaults(w http.ResponseWriter, req *http.Request) {
	if !fromLoopback(req) {
		s.log.Warn("admin request refused", "remote", req.RemoteAddr)
		http.Error(w, "the admin endpoint answers loopback clients only", http.StatusForbidden)
		return
	}
	if req.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(req.Body, maxFaultSpec+1))
		if err != nil || len(body) > maxFaultSpec {
			http.Error(w, "fault spec too long", http.StatusRequestEntityTooLarge)
			return
		}
		f, err := ParseFaults(string(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.SetFaults(f)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, s.Faults())
}

func fromLoopback(req *http.Request) bool {
	if req.Header.Get("Forwarded") != "" || req.Header.Get("X-Forwarded-For") != "" {
		return false
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
