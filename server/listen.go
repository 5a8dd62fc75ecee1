package server

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport/wire"
)

// frameMixer turns one tick's frames (any number of tracks, or none) into one mono
// 20 ms Opus packet of the mixed room.
type frameMixer interface {
	mix(frames []wire.Frame) ([]byte, error)
}

// errNoMixer is returned by newFrameMixer in a build without cgo (no libopus).
var errNoMixer = errors.New("listen.ogg needs a build with cgo and libopus")

const (
	// mixPreSkip is the encoder delay of libopus at 48 kHz, announced in OpusHead.
	mixPreSkip = audio.DefaultPreSkip
	// tapLen is how many ticks the mixer may fall behind the room before it misses some.
	tapLen = 50
)

// liveMix is a room's mixed stream: one goroutine mixes and encodes each tick once and
// hands the packet to every listen.ogg client. It runs while anyone listens.
type liveMix struct {
	frames chan []wire.Frame
	codec  frameMixer
	done   chan struct{}

	mu     sync.Mutex
	closed bool
	subs   map[chan []byte]struct{}
}

// run mixes until the room closes the tap; then it ends every client's stream.
func (m *liveMix) run() {
	defer close(m.done)
	for frames := range m.frames {
		pkt, err := m.codec.mix(frames)
		if err != nil {
			continue // a tick the decoder or encoder refused: the players conceal it
		}
		m.mu.Lock()
		for ch := range m.subs {
			select {
			case ch <- pkt:
			default: // a client too slow for real time: end its stream
				delete(m.subs, ch)
				close(ch)
			}
		}
		m.mu.Unlock()
	}
	m.mu.Lock()
	m.closed = true
	for ch := range m.subs {
		close(ch)
	}
	clear(m.subs)
	m.mu.Unlock()
}

// joinMix subscribes to the room's mixed stream, starting it for the first client.
// The channel carries one Opus packet per tick and is closed when the stream ends for
// this client; leave unsubscribes, stopping the stream after the last client.
func (r *room) joinMix() (packets <-chan []byte, leave func(), err error) {
	r.mixMu.Lock()
	defer r.mixMu.Unlock()
	m := r.mix
	if m == nil {
		codec, err := newFrameMixer()
		if err != nil {
			return nil, nil, err
		}
		m = &liveMix{
			frames: make(chan []wire.Frame, tapLen), codec: codec,
			done: make(chan struct{}), subs: make(map[chan []byte]struct{}),
		}
		if !r.tap(m.frames) {
			return nil, nil, errRoomStopped
		}
		go m.run()
		r.mix = m
	}
	ch := make(chan []byte, queueLen)
	m.mu.Lock()
	closed := m.closed
	if !closed {
		m.subs[ch] = struct{}{}
	}
	m.mu.Unlock()
	if closed {
		return nil, nil, errRoomStopped
	}
	r.mixUses++
	return ch, func() { r.leaveMix(m, ch) }, nil
}

func (r *room) leaveMix(m *liveMix, ch chan []byte) {
	m.mu.Lock()
	delete(m.subs, ch)
	m.mu.Unlock()
	r.mixMu.Lock()
	r.mixUses--
	last := r.mixUses == 0
	if last {
		r.mix = nil
	}
	r.mixMu.Unlock()
	if last {
		r.untap(m.frames)
		<-m.done
	}
}

// serveListen answers GET /rooms/{id}/listen.ogg: the room mixed live as an endless
// Ogg Opus stream (mono, 48 kHz) with its own serial number and granules from 0.
func (s *Server) serveListen(w http.ResponseWriter, req *http.Request) {
	rm := s.lookup(w, req)
	if rm == nil {
		return
	}
	pl, ok := s.admit(w, req, rm, true)
	if !ok {
		return
	}
	defer rm.release()
	packets, leave, err := rm.joinMix()
	switch {
	case errors.Is(err, errNoMixer):
		s.note(Attempt{Room: rm.id, Remote: req.RemoteAddr, Listen: true, Reason: ReasonNoMixer})
		http.Error(w, "this server was built without cgo: "+errNoMixer.Error(), http.StatusNotImplemented)
		return
	case err != nil:
		s.refuse(w, req, rm, true, err)
		return
	}
	defer leave()
	s.note(Attempt{Room: rm.id, Remote: req.RemoteAddr, Listen: true, Accepted: true})
	defer s.log.Info("listen.ogg client left", "room", rm.id, "remote", req.RemoteAddr)

	w.Header().Set("Content-Type", "audio/ogg")
	w.Header().Set("Cache-Control", "no-store")
	// A random serial (the writer's default) and granules from 0: every client gets a
	// stream of its own, which a player can start at any point of the room.
	ow, err := audio.NewOggWriter(deadlineWriter{w, http.NewResponseController(w)},
		audio.OggOptions{PreSkip: mixPreSkip, Comments: []string{"TITLE=" + rm.title}})
	if err != nil {
		return
	}
	for {
		select { // a stopped room ends the stream now, not after the packets queued
		case <-pl.stopped:
			return
		default:
		}
		select {
		case <-req.Context().Done():
			return
		case <-pl.stopped:
			return
		case p, ok := <-packets:
			if !ok {
				return
			}
			// One page per packet: a live listener waits for nothing.
			if ow.WritePacket(p) != nil || ow.Flush() != nil {
				return
			}
		}
	}
}

// deadlineWriter writes to an HTTP response, each write under its own deadline, and
// flushes each write to the client at once.
type deadlineWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	n, err := d.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, d.rc.Flush()
}
