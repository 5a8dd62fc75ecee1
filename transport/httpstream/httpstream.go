// Package httpstream joins the audio streams the world already serves over plain HTTP,
// registered for http:// and https://: an Icecast mount, or any server that answers a GET
// with an endless (or finite) Ogg Opus, Ogg Vorbis, MP3 or AAC (ADTS) body, and HLS
// playlists (RFC 8216), master or media, of fMP4 (Opus, AAC), MPEG-TS (AAC, MP3) or
// packed audio segments (raw ADTS after ID3 tags, as an X Space's chunks are). It decides
// what a URL is by what the server answers (the first bytes, else the Content-Type),
// never by the URL's look.
//
// A stream is one room with one speaker: the stream. Its frames are handed on as
// received (Opus and Vorbis packets, Vorbis with the stream's headers; whole ADTS and
// MPEG audio frames, headers included, an ADTS header written for fMP4's raw AAC),
// placed on a room clock (by the Ogg granule positions or the running total of samples,
// and an HLS segment's PROGRAM-DATE-TIME) and paced at the stream's own rate. The
// transport decodes nothing. icy-name and icy-description name the room, and a chained
// stream's new tags or ICY metadata (StreamTitle) change its title live. An HLS playlist
// is reloaded as RFC 8216 section 6.3.4 says and each segment fetched once. Other formats
// are recognised and refused with one line that says so; docs/streams.md says why and
// what is left.
package httpstream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// Timing and bounds of one attempt.
const (
	// headerTimeout bounds the wait for the response's status line and headers.
	headerTimeout = 15 * time.Second
	// stallTimeout is how long the body may send nothing before the attempt is given
	// up as stalled (transport.ErrStalled), as every transport does after 15 s.
	stallTimeout = 15 * time.Second
	// bufferSize is the read buffer in front of the Ogg reader; audio.NewOggReader uses
	// a *bufio.Reader of at least this size as it is, so a chained stream's next
	// headers are read from the same buffer.
	bufferSize = 1 << 16
	// maxErrorBody bounds what is read of an error response to quote it.
	maxErrorBody = 512
	// userAgent names spacetui to servers.
	userAgent = "spacetui"
)

// OptLiveEdge is the option (transport.Option) that has an HLS stream start at its
// newest segment instead of three target durations behind the end of its playlist.
const OptLiveEdge = "live-edge"

func init() {
	d := &dialer{clock: transport.SystemClock{}}
	transport.Register("http", d)
	transport.Register("https", d)
}

// dialer is the transport.Dialer of http:// and https:// streams.
type dialer struct {
	clock transport.Clock
}

var (
	_ transport.Dialer       = (*dialer)(nil)
	_ transport.Configurable = (*dialer)(nil)
)

func (*dialer) Options() []transport.Option {
	return []transport.Option{{Name: OptLiveEdge, Bool: true,
		Usage: "HLS: start at the newest segment, not three target durations behind the end of the playlist (less delay, less margin for a late segment)"}}
}

// Check validates the value of --live-edge. Whether the stream is HLS is known only
// once the server answers.
func (*dialer) Check(_ *url.URL, opts transport.DialOptions) error {
	if _, err := liveEdge(opts); err != nil {
		return fmt.Errorf("--%s=%s: want true or false", OptLiveEdge, opts.Params[OptLiveEdge])
	}
	return nil
}

// liveEdge reads --live-edge; not given is false.
func liveEdge(opts transport.DialOptions) (bool, error) {
	v, ok := opts.Params[OptLiveEdge]
	if !ok || v == "" {
		return false, nil
	}
	return strconv.ParseBool(v)
}

// kept is what a Conn hands the next attempt (transport.Resume.Private): the room clock
// and the track's position on it, so that a reconnect continues one track, and whether
// the stream was ever heard, which makes a later 404 (an Icecast mount whose source is
// away) a drop instead of a refusal.
type kept struct {
	origin time.Time // the room clock's zero
	seq    uint32    // the last frame's sequence number
	end    uint64    // the room clock, in 48 kHz samples, at the end of the last frame
	played bool      // a frame was delivered
	hls    hlsKept   // where an HLS stream's playlist was left
}

// format is what a server's answer holds, as sniff decides.
type format string

// The formats sniff tells apart.
const (
	formatOgg     format = "ogg"      // an Ogg stream (Opus and Vorbis are joined)
	formatHLS     format = "hls"      // an HLS playlist (RFC 8216)
	formatMP3     format = "mp3"      // MPEG audio
	formatAAC     format = "aac"      // ADTS AAC
	formatUnknown format = "unknown"  // anything else
	formatHTML    format = "web page" // an HTML page, not a stream
)

func (d *dialer) Dial(ctx context.Context, u *url.URL, opts transport.DialOptions) (transport.Conn, error) {
	log := opts.Log()
	edge, _ := liveEdge(opts) // Check refused a bad value
	var prev kept
	if opts.Resume != nil {
		prev, _ = opts.Resume.Private.(kept)
	}
	if prev.origin.IsZero() {
		prev.origin = d.clock.Now()
	}
	shown := transport.RedactURL(u.String())

	// The attempt's context ends the body when the Conn closes; the header wait has
	// its own bound.
	actx, cancel := context.WithCancel(context.Background())
	stopCtx := context.AfterFunc(ctx, cancel)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("request %s: %w", shown, err)
	}
	req.Header.Set("Icy-MetaData", "1") // ask for ICY titles; a server that has none ignores it
	req.Header.Set("User-Agent", userAgent)
	client := &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		ResponseHeaderTimeout: headerTimeout,
		TLSHandshakeTimeout:   headerTimeout,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: opts.InsecureSkipVerify}, //nolint:gosec // opt-in only
		DisableCompression:    true,
		IdleConnTimeout:       30 * time.Second,
	}}
	// Closing the Conn ends its requests and the keep-alive connections it leaves.
	actxCancel := cancel
	cancel = func() { actxCancel(); client.CloseIdleConnections() }
	resp, err := client.Do(req)
	stopCtx()
	if err != nil {
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if ue := transport.Unreachable(hostPort(u), err); ue != nil {
			return nil, ue
		}
		return nil, fmt.Errorf("GET %s: %w", shown, unwrapURLError(err))
	}
	if err := statusError(resp, prev.played, d.clock.Now()); err != nil {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("GET %s: %w", shown, err)
	}

	body := newWatchdog(resp.Body, stallTimeout)
	var src io.Reader = body
	var icy *icyReader
	if mi := resp.Header.Get("icy-metaint"); mi != "" {
		n, err := strconv.Atoi(strings.TrimSpace(mi))
		if err != nil || n <= 0 || n > maxMetaInt {
			body.Close()
			cancel()
			return nil, fmt.Errorf("GET %s: icy-metaint %q: %w", shown, transport.Sanitize(mi, 20), transport.ErrProtocol)
		}
		icy = newICYReader(body, n)
		src = icy
	}
	br := bufio.NewReaderSize(src, bufferSize)
	head, _ := br.Peek(512) // what arrives first; an error surfaces at the first read
	kind := sniff(resp.Header.Get("Content-Type"), head)
	if kind == formatHLS {
		b, err := io.ReadAll(io.LimitReader(br, maxPlaylistBytes+1))
		body.Close()
		if err != nil {
			cancel()
			return nil, fmt.Errorf("GET %s: %w", shown, err)
		}
		c, err := newHLSConn(ctx, client, resp.Request.URL, b, streamInfo{room: roomID(u), id: speakerID("", u)}, edge, prev, d.clock, log, cancel)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("%s: %w", shown, err)
		}
		// hold: the join waited that long, too little being listed to play without
		// holes (hlsConn.holdFor); behind_live counts it.
		log.Info("httpstream: joined", "url", shown, "format", kind, "target", c.pl.target, "resumed", c.resumed,
			"hold", c.hold, "behind_live", c.room.BehindLive)
		return c, nil
	}
	info := streamInfo{
		room:        roomID(u),
		id:          speakerID(resp.Header.Get("icy-name"), u),
		name:        header(resp, "icy-name"),
		description: header(resp, "icy-description"),
		finite:      resp.ContentLength >= 0,
	}
	pr, err := openStream(kind, head, br, log)
	if err != nil {
		body.Close()
		cancel()
		if body.stalled() {
			err = fmt.Errorf("%w: %w", transport.ErrStalled, err)
		}
		return nil, fmt.Errorf("%s: %w", shown, err)
	}
	c := newStreamConn(br, pr, icy, body, cancel, info, prev, d.clock)
	if isIcecast(resp.Header) {
		go c.listeners.poll(actx, client, resp.Request.URL, d.clock, log)
	}
	log.Info("httpstream: joined", "url", shown, "format", kind, "name", info.name, "icy_metaint", icy != nil)
	if edge {
		log.Warn("httpstream: --live-edge applies to HLS playlists only; this stream plays as the server sends it", "format", kind)
	}
	return c, nil
}

// openStream starts reading a stream of kind whose first bytes are head: Ogg Opus or
// Vorbis (its headers read), or MP3 or AAC (up to its first frame). What it cannot play is
// refused (transport.ErrProtocol).
func openStream(kind format, head []byte, br *bufio.Reader, log *slog.Logger) (packetReader, error) {
	switch {
	case kind == formatOgg && (bytes.Contains(head, []byte("OpusHead")) || bytes.Contains(head, []byte("\x01vorbis"))):
		return newOggReader(br, log)
	case kind == formatMP3 || kind == formatAAC:
		r := newESReader(br)
		if _, err := r.find(); errors.Is(err, errNoFrames) {
			return nil, fmt.Errorf("labelled %s, but %w in its first %d bytes: %w", kind, errNoFrames, maxResync, transport.ErrProtocol)
		} else if err != nil {
			return nil, err
		}
		return r, nil
	}
	return nil, fmt.Errorf("%s: %w", describe(kind, head), transport.ErrProtocol)
}

// statusError classifies a response that is not a stream: 429 and 503 are an overload
// (with the server's Retry-After), 401 and 403 a refusal, 404 no such stream (or, once
// the stream was heard, a drop: an Icecast mount answers 404 while its source is away),
// 410 the end, other 5xx a drop, and anything else a mismatch.
func statusError(resp *http.Response, played bool, now time.Time) error {
	code := resp.StatusCode
	if code == http.StatusOK {
		return nil
	}
	why := fmt.Sprintf("HTTP %d %s", code, http.StatusText(code))
	if b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)); len(b) > 0 && !strings.Contains(resp.Header.Get("Content-Type"), "html") {
		why += ": " + transport.Sanitize(string(b), 100)
	}
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		return &transport.OverloadError{RetryAfter: transport.ParseRetryAfter(resp.Header.Get("Retry-After"), now), Reason: why}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("%s: %w", why, transport.ErrUnauthorized)
	case code == http.StatusNotFound && played:
		return errors.New(why + " (the stream's source may be away)")
	case code == http.StatusNotFound:
		return fmt.Errorf("%s: %w", why, transport.ErrNotFound)
	case code == http.StatusGone:
		return fmt.Errorf("%s: %w", why, transport.ErrRoomEnded)
	case code >= 500:
		return errors.New(why)
	}
	return fmt.Errorf("%s: %w", why, transport.ErrProtocol)
}

// sniff decides what a response holds: by its Content-Type where that is specific, else
// by its first bytes (Icecast and many servers label streams loosely).
func sniff(contentType string, head []byte) format {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case bytes.HasPrefix(head, []byte("OggS")):
		return formatOgg
	case bytes.HasPrefix(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), []byte("#EXTM3U")):
		return formatHLS
	}
	switch mt {
	case "application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl":
		return formatHLS
	case "application/ogg", "audio/ogg", "audio/opus", "video/ogg":
		return formatOgg
	case "audio/mpeg", "audio/mp3":
		return formatMP3
	case "audio/aac", "audio/aacp", "audio/x-aac":
		return formatAAC
	case "text/html":
		return formatHTML
	}
	switch {
	case bytes.HasPrefix(head, []byte("ID3")), len(head) > 1 && head[0] == 0xff && head[1]&0xf6 == 0xf0:
		return formatAAC // ADTS, or ID3-prefixed as an X Space's chunks are
	case len(head) > 1 && head[0] == 0xff && head[1]&0xe0 == 0xe0:
		return formatMP3
	}
	return formatUnknown
}

// describe says, for the refusal, what a stream is that is not joined yet (an HLS
// playlist never gets here).
func describe(f format, head []byte) string {
	switch f {
	case formatOgg:
		return "an Ogg stream without Opus or Vorbis (FLAC, Speex, video), which spacetui does not play"
	case formatHTML:
		return "a web page, not an audio stream"
	}
	return "not an audio stream spacetui knows"
}

// speakerID names the stream's one speaker: its icy-name, else streamName.
func speakerID(icyName string, u *url.URL) string {
	if s := transport.Sanitize(icyName, transport.MaxNameRunes); s != "" {
		return s
	}
	return streamName(u)
}

// genericNames are path elements that name no stream: the file and directory names
// servers and packagers give every stream (an X Space's media playlist is
// audio-space/dynamic_playlist.m3u8 whatever the Space).
var genericNames = map[string]bool{
	"index": true, "playlist": true, "master": true, "master_playlist": true, "dynamic_playlist": true,
	"chunklist": true, "prog_index": true, "stream": true, "live": true, "audio": true, "audio-space": true,
	"hls": true, "media": true, "mono": true, "stereo": true, "main": true, "default": true, "listen": true,
}

// streamName names a stream after its URL: the last element of the path without its
// extension, else the element before it, unless it is a name every stream has
// (genericNames) or may be a credential (transport.TokenLike); else the host.
func streamName(u *url.URL) string {
	dirs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := len(dirs) - 1; i >= 0 && i >= len(dirs)-2; i-- {
		name := dirs[i]
		if i == len(dirs)-1 {
			name = strings.TrimSuffix(name, path.Ext(name))
		}
		if name != "" && !genericNames[strings.ToLower(name)] && !transport.TokenLike(name) {
			return name
		}
	}
	return u.Hostname()
}

// header returns a response header as text: ICY headers are often Latin-1, which is
// read as such when it is not valid UTF-8.
func header(resp *http.Response, key string) string {
	return latin1(resp.Header.Get(key))
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// unwrapURLError drops net/http's *url.Error, whose text quotes the whole URL,
// credentials and all.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
