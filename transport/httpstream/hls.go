package httpstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// HLS timing and bounds (RFC 8216).
const (
	// liveOffset is how far behind the end of a live playlist playback starts, in
	// target durations (section 6.3.3: no less than three), unless --live-edge asks
	// for the newest segment.
	liveOffset = 3
	// stallTargets is how many target durations a live playlist may go without a new
	// segment before the attempt is given up as stalled.
	stallTargets = 3
	// goneTargets is how many target durations a playlist that answers 404 after
	// playback began is retried before the room is taken for ended (an X Space that
	// finished does this).
	goneTargets = 10
	// maxSegmentBytes bounds a media segment or init section.
	maxSegmentBytes = 16 << 20
	// requestTimeout bounds one request for a playlist or a segment, body included.
	requestTimeout = 20 * time.Second
	// holdMargin is how much further behind the end of the playlist than the reload
	// cycle needs a join that holds its first frame back plays (holdFor): playback
	// reloads as it hands on its last frame, a frame before it runs dry, and a
	// packager or a CDN may list a segment a little after its last sample.
	holdMargin = time.Second / 2
	// dateSlack is how far a segment's PROGRAM-DATE-TIME may put it from the end of the
	// last frame, in 48 kHz samples (50 ms), and still be taken to follow it.
	dateSlack = sampleRate / 20
)

// hlsKept is what an HLS connection hands the next attempt, in kept.
type hlsKept struct {
	played     bool      // a segment was played: next says which is next
	next       uint64    // the media sequence number of the next segment to play
	dateAnchor time.Time // a PROGRAM-DATE-TIME ...
	dateTS     uint64    // ... and where it lies on the room clock
	recent     recentURIs
}

// recentURIs are the URIs of the last segments played (an array, so that a Resume
// hands on a copy): a segment listed again under a new sequence number, as some
// packagers do at a seam, is played once.
type recentURIs struct {
	uris [64]string
	n    int
}

// has reports whether uri was played.
func (r *recentURIs) has(uri string) bool { return slices.Contains(r.uris[:], uri) }

// add records uri as played.
func (r *recentURIs) add(uri string) {
	r.uris[r.n%len(r.uris)] = uri
	r.n++
}

// hlsConn is a joined HLS media playlist of fMP4, MPEG-TS or packed audio segments
// (segmentPackets). Recv reloads the playlist as section 6.3.4 says, fetches each new
// segment once (by media sequence number, and by URI), and hands its frames on paced
// at the stream's rate, on the caller's goroutine.
type hlsConn struct {
	client *http.Client
	u      *url.URL // the playlist, after redirects
	cancel context.CancelFunc
	clock  transport.Clock
	log    *slog.Logger
	info   streamInfo
	k      kept

	pl        *playlist
	subs      *subtitles // nil without a subtitle rendition
	loadedAt  time.Time  // when the last reload began
	changed   bool       // the last reload added a segment
	changedAt time.Time  // when a segment was last added
	goneSince time.Time  // the playlist has answered 404 since; zero while it is there
	queue     []segment
	initURI   string
	track     mp4Track
	esClock   sampleClock // where the last packed audio or MPEG-TS segment ended
	resumed   bool
	liveEdge  bool               // start at the newest segment (--live-edge)
	hold      time.Duration      // how long the join waited before it went live (holdFor)
	room      transport.RoomInfo // as last sent; BehindLive in whole seconds

	out outbox
}

var (
	_ transport.Conn      = (*hlsConn)(nil)
	_ transport.Resumable = (*hlsConn)(nil)
)

// newHLSConn starts playing the playlist b, read from u: three target durations
// behind its end, or at its newest segment if liveEdge is set (or from the start of a
// playlist that has ended), or, on a resume, from the first segment not yet played. Of
// a master playlist, it plays the rendition chooseRendition picks.
func newHLSConn(ctx context.Context, client *http.Client, u *url.URL, b []byte, info streamInfo, liveEdge bool, prev kept,
	clock transport.Clock, log *slog.Logger, cancel context.CancelFunc) (*hlsConn, error) {
	now := clock.Now()
	c := &hlsConn{client: client, u: u, cancel: cancel, clock: clock, log: log, info: info, k: prev, liveEdge: liveEdge,
		loadedAt: now, changed: true, changedAt: now, out: outbox{pace: pacer{clock: clock}}}
	pl, err := parsePlaylist(b)
	title := info.id
	var subs rendition
	if errors.Is(err, errMaster) {
		var r rendition
		if r, subs, err = chooseRendition(b); err != nil {
			return nil, fmt.Errorf("%w: %w", err, transport.ErrProtocol)
		}
		if c.u, err = u.Parse(r.uri); err != nil {
			return nil, fmt.Errorf("master playlist: URI %q: %w", clip(r.uri), transport.ErrProtocol)
		}
		log.Info("httpstream: chose from the master playlist", "rendition", r.describe(), "url", transport.RedactURL(c.u.String()))
		if subs.uri != "" {
			log.Info("httpstream: chose subtitles from the master playlist", "rendition", subs.describe())
			c.subs = newSubtitles(u, subs, info.id, log)
		}
		title = join(title, r.describe())
		if b, err = c.get(ctx, c.u.String()); err != nil {
			return nil, fmt.Errorf("media playlist: %w", err)
		}
		if pl, err = parsePlaylist(b); errors.Is(err, errMaster) {
			return nil, fmt.Errorf("a master playlist whose %s is a master playlist too: %w", r.describe(), transport.ErrProtocol)
		}
	}
	if err != nil && !prev.played {
		return nil, fmt.Errorf("%w: %w", err, transport.ErrProtocol) // not a playlist at all
	}
	if err != nil {
		return nil, err // a live playlist written badly once: try again
	}
	c.pl = pl
	c.queue, c.resumed = c.start(pl)
	c.hold = c.holdFor(c.queue)
	c.room = transport.RoomInfo{ID: info.room, Title: title, Listeners: 1}
	if len(c.queue) > 0 {
		c.room.BehindLive = c.behindLive(c.queue[0], c.clock.Now().Add(c.hold))
		if err := c.loadInit(ctx, c.queue[0]); err != nil {
			return nil, err
		}
	}
	c.loadSubtitles(ctx)
	// Too little listed to play without holes: the join waits here rather than play
	// silence once live, so the user sees it connect until the stream can play, and a
	// recording, whose time 0 is the join, starts with the stream's first sample.
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.clock.After(c.hold):
	}
	c.out.add(
		c.room,
		transport.Roster{Speakers: []transport.Speaker{{ID: info.id, Name: info.id, Role: "speaker"}}})
	return c, nil
}

// start picks the segments to play first, and says whether they continue the previous
// connection without a loss.
func (c *hlsConn) start(pl *playlist) ([]segment, bool) {
	h := c.k.hls
	if h.played {
		for i, s := range pl.segments {
			if s.seq >= h.next {
				return pl.segments[i:], s.seq == h.next
			}
		}
		if last, ok := pl.lastSeq(); ok && last+1 >= h.next {
			return nil, true // caught up: nothing new yet
		}
		// The sequence went back: a new stream on the same URL.
	}
	if pl.ended {
		return pl.segments, false
	}
	i, behind := len(pl.segments), time.Duration(0)
	for i > 0 {
		i--
		behind += pl.segments[i].duration
		if c.liveEdge || behind >= liveOffset*pl.target {
			break
		}
	}
	return pl.segments[i:], false
}

// holdFor is how long a connection that starts with the segments q waits before it
// plays (a join waits in newHLSConn, before it is live; a connection that found
// nothing listed holds back its first frame), so that playback then never runs dry:
// zero when q lasts long enough, as three target durations always do.
//
// Playback reloads the playlist only once it has handed on all it fetched, and then no
// sooner than a target duration after the reload before (RFC 8216 section 6.3.4). So
// every reload must find at least a target duration of new segments, or the next one
// comes too late and the sound stops until it does. A reload finds what the packager
// has listed beyond what was played: whole segments, not the one being written, nor
// (as the reload comes a frame early) one that ends just as the reload begins. Playback
// that stays as many whole segments behind the end of the playlist as it takes to
// cover a target duration, plus holdMargin, finds enough at every reload whatever the
// phase of the segments against the reloads; less lets a reload find a segment too
// few (an X Space just begun lists one 3 s chunk, its target duration 4 s: a second's
// hole every other reload, until the holes add up to the delay it should have
// started with). At the join, the start of q is as far behind the end of the
// playlist as q is long (further, by the age of its newest segment, which the join
// cannot know): the shortfall is the hold. A reload that finds more than it needs
// then leaves playback that much further behind; never more than three target
// durations are needed, the RFC's start. A playlist that has ended needs no reloads.
func (c *hlsConn) holdFor(q []segment) time.Duration {
	if c.pl.ended || len(q) == 0 {
		return 0
	}
	var have, shortest, longest time.Duration
	for i, s := range q {
		have += s.duration
		if i == 0 || s.duration < shortest {
			shortest = s.duration
		}
		longest = max(longest, s.duration)
	}
	need := liveOffset * c.pl.target
	if shortest > 0 {
		n := (c.pl.target + shortest - 1) / shortest // whole segments to cover a target duration
		need = min(time.Duration(n)*longest+holdMargin, need)
	}
	return max(need-have, 0)
}

// loadInit reads the init section seg needs, if it has one and it is not the one read
// last, and refuses fMP4 segments spacetui cannot play.
func (c *hlsConn) loadInit(ctx context.Context, seg segment) error {
	if seg.initURI == "" || seg.initURI == c.initURI {
		return nil
	}
	b, err := c.get(ctx, seg.initURI)
	if err != nil {
		return fmt.Errorf("init section: %w", err)
	}
	tr, err := parseInit(b)
	if err != nil {
		return err
	}
	c.initURI, c.track = seg.initURI, tr
	return nil
}

func (c *hlsConn) Recv(ctx context.Context) (transport.Event, error) {
	return c.out.next(ctx, func() error { return c.step(ctx) })
}

// step plays the next segment, or ends the room, or reloads the playlist.
func (c *hlsConn) step(ctx context.Context) error {
	switch {
	case len(c.queue) > 0:
		seg := c.queue[0]
		c.queue = c.queue[1:]
		return c.play(ctx, seg)
	case c.pl.ended:
		c.out.add(transport.Ended{Reason: "the stream ended (EXT-X-ENDLIST)"})
		return nil
	}
	if err := c.reload(ctx); err != nil {
		return err
	}
	c.loadSubtitles(ctx)
	return nil
}

// reload waits as section 6.3.4 says (the target duration after a reload that added a
// segment, half of it after one that did not, from when the last reload began) and
// reads the playlist again.
func (c *hlsConn) reload(ctx context.Context) error {
	wait := c.pl.target
	if !c.changed {
		wait /= 2
	}
	if d := c.loadedAt.Add(wait).Sub(c.clock.Now()); d > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.clock.After(d):
		}
	}
	now := c.clock.Now()
	c.loadedAt, c.changed = now, false
	b, err := c.get(ctx, c.u.String())
	var se *statusErr
	if errors.As(err, &se) && se.code == http.StatusNotFound {
		if c.goneSince.IsZero() {
			c.goneSince = now
		}
		if now.Sub(c.goneSince) >= goneTargets*c.pl.target {
			c.out.add(transport.Ended{Reason: "the playlist is gone (HTTP 404)"})
		}
		return nil
	}
	if err != nil {
		return err
	}
	c.goneSince = time.Time{}
	pl, err := parsePlaylist(b)
	if err != nil {
		return err
	}
	last, ok := pl.lastSeq()
	if prev, _ := c.pl.lastSeq(); ok && (last > prev || pl.ended != c.pl.ended) {
		c.changed, c.changedAt = true, now
	} else if now.Sub(c.changedAt) >= stallTargets*pl.target {
		return fmt.Errorf("%w: the playlist has not changed for %s", transport.ErrStalled, now.Sub(c.changedAt).Round(time.Second))
	}
	c.pl = pl
	h := c.k.hls
	if !h.played {
		// Nothing was listed at the join, or nothing played yet: the first segments
		// found are held back as a join's are.
		c.queue, _ = c.start(pl)
		if c.out.pace.hold = c.holdFor(c.queue); c.out.pace.hold > 0 {
			c.log.Info("httpstream: first segment held back, too little listed to play without holes", "hold", c.out.pace.hold)
		}
		return nil
	}
	for i, s := range pl.segments {
		if s.seq < h.next {
			continue
		}
		if s.seq > h.next {
			missed := time.Duration(s.seq-h.next) * pl.target
			c.out.add(transport.Gap{From: now.Add(-missed), To: now,
				Why: fmt.Sprintf("%d segments left the playlist before they were fetched", s.seq-h.next)})
		}
		c.queue = pl.segments[i:]
		break
	}
	return nil
}

// play fetches one segment and queues its packets as frames on the room clock. A
// segment that is missing (404) or unreadable is a gap, not a failure.
func (c *hlsConn) play(ctx context.Context, seg segment) error {
	c.k.hls.next, c.k.hls.played = seg.seq+1, true
	if err := c.loadInit(ctx, seg); err != nil {
		return err
	}
	if c.k.hls.recent.has(seg.uri) {
		c.log.Info("httpstream: segment listed again under a new number; played once", "seq", seg.seq)
		return nil
	}
	b, err := c.fetch(ctx, seg)
	if err != nil && !missing(err) {
		c.k.hls.next = seg.seq // fetch it again on the next attempt
		return err
	}
	c.k.hls.recent.add(seg.uri)
	if err != nil {
		c.gap(seg, "segment missing (HTTP 404)")
		return nil
	}
	ps, err := c.segmentPackets(seg, b)
	if errors.Is(err, transport.ErrProtocol) {
		return err // segments spacetui cannot play
	}
	if len(ps) == 0 {
		c.log.Warn("httpstream: unreadable segment", "seq", seg.seq, "err", err)
		c.gap(seg, "segment unreadable")
		return nil
	}
	if err != nil {
		c.log.Warn("httpstream: segment partly unreadable", "seq", seg.seq, "frames", len(ps), "err", err)
	}
	at := c.clock.Now() // when seg's first frame is handed on
	if c.out.pace.start.IsZero() {
		at = at.Add(c.out.pace.hold)
	}
	if d := c.behindLive(seg, at); d != c.room.BehindLive {
		c.room.BehindLive = d
		c.out.add(c.room)
	}
	start := c.place(seg)
	p0, end := ps[0].pos, ps[0].pos
	for _, p := range ps {
		if p.lost || p.pos > end+dateSlack {
			lost := samples(max(p.pos, end) - end)
			now := c.clock.Now()
			c.log.Warn("httpstream: audio lost inside a segment", "seq", seg.seq, "lost", lost)
			c.out.add(transport.Gap{From: now, To: now.Add(lost), Why: "audio lost inside a segment"})
		}
		end = p.end
		at := max(p.pos, p0) - p0
		c.out.add(c.subs.due(seg, start, samples(at))...)
		c.out.add(c.k.frame(c.info.id, p, start+at))
	}
	c.out.add(c.subs.due(seg, start, seg.duration)...)
	return nil
}

// behindLive is how far the start of seg, handed on at the time at, is behind the
// live edge, in whole seconds: the segments the playlist lists from seg on, and the
// time from when a reload last found a new one to at, for the edge has moved on since
// by as much (playback reloads only once it has played what it had, and a join that
// holds its first frame back hands it on later). Dates are not used: they would
// measure the distance between two clocks as well. A playlist that has ended has no
// live edge.
func (c *hlsConn) behindLive(seg segment, at time.Time) time.Duration {
	if c.pl.ended {
		return 0
	}
	d := at.Sub(c.changedAt)
	for _, s := range c.pl.segments {
		if s.seq >= seg.seq {
			d += s.duration
		}
	}
	return d.Round(time.Second)
}

// fetch reads a segment. One that is missing (a CDN that has not got it yet) is asked
// for again every half target duration for as long as it lasts, so that a missing
// segment costs no more than its own length before it is given up as a gap.
func (c *hlsConn) fetch(ctx context.Context, seg segment) ([]byte, error) {
	since := c.clock.Now()
	for {
		b, err := c.get(ctx, seg.uri)
		if !missing(err) || c.clock.Now().Sub(since) >= seg.duration {
			return b, err
		}
		c.log.Info("httpstream: segment missing; asking again", "seq", seg.seq, "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.clock.After(c.pl.target / 2):
		}
	}
}

// missing reports whether err is a segment's 404 or 410.
func missing(err error) bool {
	var se *statusErr
	return errors.As(err, &se) && (se.code == http.StatusNotFound || se.code == http.StatusGone)
}

// segmentPackets reads a segment's packets, on the segment's own timeline: the
// samples of an fMP4 segment by its init section's track, else the audio frames of
// MPEG-TS or of packed audio (ADTS or MP3 frames after ID3 tags, as an X Space's chunks
// are), counted on from the last segment's so that the room clock does not drift by
// rounding from one segment to the next.
func (c *hlsConn) segmentPackets(seg segment, b []byte) ([]packet, error) {
	switch {
	case seg.initURI != "":
		return c.track.packets(b)
	case isTS(b):
		return tsPackets(b, &c.esClock)
	}
	return esPackets(b, &c.esClock, maxSegmentFrames)
}

// esPackets reads at most limit frames of an elementary stream (a packed audio segment,
// a run of MPEG-TS), placed by clk. A stream cut short keeps the frames before the cut.
func esPackets(b []byte, clk *sampleClock, limit int) ([]packet, error) {
	r := newESReader(bytes.NewReader(b))
	r.clock = *clk
	defer func() { *clk = r.clock }()
	var ps []packet
	for len(ps) < limit {
		p, err := r.readPacket()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return ps, err
		}
		ps = append(ps, p)
	}
	if r.resyncs > 0 {
		return ps, fmt.Errorf("lost sync %d times, skipping %d bytes", r.resyncs, r.junk)
	}
	return ps, nil
}

// place returns where seg starts on the room clock: by its PROGRAM-DATE-TIME, mapped
// through the first date seen (and kept across reconnects), else right after the last
// frame, else now. A date within dateSlack of the last frame's end is taken to mean
// that end (dates are rounded to the millisecond, or worse); one that would put the
// segment earlier, or more than maxGranuleJump after it, is taken for a new timeline.
func (c *hlsConn) place(seg segment) uint64 {
	fallback := c.k.end
	if !c.k.played {
		fallback = c.k.nowTS(c.clock)
	}
	h := &c.k.hls
	if seg.date.IsZero() {
		return fallback
	}
	if !h.dateAnchor.IsZero() && !seg.discont {
		if d := seg.date.Sub(h.dateAnchor); d >= 0 {
			ts := h.dateTS + uint64(d*sampleRate/time.Second)
			switch {
			case ts+dateSlack >= c.k.end && ts <= c.k.end+dateSlack:
				return c.k.end
			case ts > c.k.end && ts-c.k.end <= maxGranuleJump:
				return ts
			}
		}
	}
	h.dateAnchor, h.dateTS = seg.date, fallback
	return fallback
}

// gap reports seg's audio as lost.
func (c *hlsConn) gap(seg segment, why string) {
	now := c.clock.Now()
	c.log.Warn("httpstream: segment lost", "seq", seg.seq, "why", why)
	c.out.add(transport.Gap{From: now, To: now.Add(seg.duration), Why: why})
}

// statusErr is a response other than 200 to a playlist or segment request.
type statusErr struct {
	code int
	err  error
}

func (e *statusErr) Error() string { return e.err.Error() }
func (e *statusErr) Unwrap() error { return e.err }

// get reads a playlist, init section or segment, by a URI relative to the playlist.
func (c *hlsConn) get(ctx context.Context, ref string) ([]byte, error) {
	return c.getFrom(ctx, c.u, ref, maxSegmentBytes)
}

// getFrom reads at most limit bytes, by a URI relative to base.
func (c *hlsConn) getFrom(ctx context.Context, base *url.URL, ref string, limit int) ([]byte, error) {
	u, err := base.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("URI %q: %w", clip(ref), err)
	}
	shown := transport.RedactURL(u.String())
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.client.Do(req)
	if err != nil {
		if ue := transport.Unreachable(hostPort(u), err); ue != nil {
			return nil, ue
		}
		return nil, fmt.Errorf("GET %s: %w", shown, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if err := statusError(resp, true, c.clock.Now()); err != nil {
		return nil, &statusErr{code: resp.StatusCode, err: fmt.Errorf("GET %s: %w", shown, err)}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", shown, err)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("GET %s: over %d bytes", shown, limit)
	}
	return b, nil
}

// Resume hands the room clock, the track and the next segment to the next attempt.
func (c *hlsConn) Resume() *transport.Resume { return &transport.Resume{Private: c.k} }

// Resumed reports whether this connection went on from the first segment the previous
// one had not played, so that nothing was lost.
func (c *hlsConn) Resumed() bool { return c.resumed }

// Close ends the connection's requests and its idle keep-alive connections; it is
// idempotent.
func (c *hlsConn) Close() error {
	c.cancel()
	return nil
}
