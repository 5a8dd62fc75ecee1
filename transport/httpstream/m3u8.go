package httpstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bounds of a playlist.
const (
	maxPlaylistBytes    = 1 << 20
	maxPlaylistSegments = 10000
	maxTargetDuration   = time.Minute
)

// errMaster is returned for a master playlist, which lists renditions, not segments.
var errMaster = errors.New("a master playlist")

// playlist is what spacetui reads of an HLS media playlist (RFC 8216 section 4.3).
type playlist struct {
	target   time.Duration // EXT-X-TARGETDURATION
	firstSeq uint64        // EXT-X-MEDIA-SEQUENCE: the first segment's number
	ended    bool          // EXT-X-ENDLIST: no segment will be added
	segments []segment
}

// segment is one media segment of a playlist.
type segment struct {
	seq      uint64
	uri      string
	duration time.Duration // EXTINF
	date     time.Time     // EXT-X-PROGRAM-DATE-TIME, zero if absent
	initURI  string        // EXT-X-MAP's URI in effect, "" if none
	discont  bool          // EXT-X-DISCONTINUITY before it
}

// lastSeq is the number of the playlist's last segment; ok is false when it has none.
func (p *playlist) lastSeq() (uint64, bool) {
	if len(p.segments) == 0 {
		return 0, false
	}
	return p.segments[len(p.segments)-1].seq, true
}

// parsePlaylist reads a media playlist. It is strict only where a mistake would mislead
// the player (no #EXTM3U, no target duration, a bad EXTINF); tags it does not use are
// skipped, as the RFC asks.
func parsePlaylist(b []byte) (*playlist, error) {
	if len(b) > maxPlaylistBytes {
		return nil, fmt.Errorf("playlist of %d bytes: over %d", len(b), maxPlaylistBytes)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxPlaylistBytes)
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != "#EXTM3U" {
		return nil, errors.New("playlist: no #EXTM3U")
	}
	p := &playlist{}
	var (
		next     segment
		inf      bool
		targeted bool
	)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		tag, val, _ := strings.Cut(line, ":")
		switch {
		case line == "":
		case tag == "#EXT-X-STREAM-INF" || tag == "#EXT-X-I-FRAME-STREAM-INF":
			return nil, errMaster
		case tag == "#EXT-X-TARGETDURATION":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil || n == 0 || time.Duration(n)*time.Second > maxTargetDuration {
				return nil, fmt.Errorf("playlist: EXT-X-TARGETDURATION %q", clip(val))
			}
			p.target, targeted = time.Duration(n)*time.Second, true
		case tag == "#EXT-X-MEDIA-SEQUENCE":
			n, err := strconv.ParseUint(val, 10, 63)
			if err != nil || len(p.segments) > 0 {
				return nil, fmt.Errorf("playlist: EXT-X-MEDIA-SEQUENCE %q", clip(val))
			}
			p.firstSeq = n
		case tag == "#EXT-X-ENDLIST":
			p.ended = true
		case tag == "#EXT-X-DISCONTINUITY":
			next.discont = true
		case tag == "#EXT-X-PROGRAM-DATE-TIME":
			t, err := parseDate(val)
			if err != nil {
				return nil, fmt.Errorf("playlist: EXT-X-PROGRAM-DATE-TIME %q", clip(val))
			}
			next.date = t
		case tag == "#EXT-X-MAP":
			uri, ok := attr(val, "URI")
			if !ok {
				return nil, errors.New("playlist: EXT-X-MAP without URI")
			}
			next.initURI = uri
		case tag == "#EXTINF":
			d, _, _ := strings.Cut(val, ",")
			secs, err := strconv.ParseFloat(strings.TrimSpace(d), 64)
			if err != nil || secs < 0 || secs > maxTargetDuration.Seconds()*2 {
				return nil, fmt.Errorf("playlist: EXTINF %q", clip(val))
			}
			next.duration, inf = time.Duration(secs*float64(time.Second)), true
		case strings.HasPrefix(line, "#"):
			// a comment, or a tag spacetui does not use
		default:
			if !inf {
				return nil, fmt.Errorf("playlist: segment %q without EXTINF", clip(line))
			}
			if len(p.segments) == maxPlaylistSegments {
				return nil, fmt.Errorf("playlist: over %d segments", maxPlaylistSegments)
			}
			next.uri, next.seq = line, p.firstSeq+uint64(len(p.segments))
			p.segments = append(p.segments, next)
			// EXT-X-MAP applies to every later segment; the other tags to one.
			next = segment{initURI: next.initURI}
			inf = false
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("playlist: %w", err)
	}
	if !targeted {
		return nil, errors.New("playlist: no EXT-X-TARGETDURATION")
	}
	return p, nil
}

// parseDate reads an ISO 8601 date as playlists write it: RFC 3339, or with a zone
// offset without a colon (FFmpeg writes "+0000").
func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad date")
}

// attr returns the value of the attribute name in an attribute list (section 4.2),
// unquoted.
func attr(list, name string) (string, bool) {
	for list != "" {
		var k, v string
		k, list, _ = strings.Cut(list, "=")
		k = strings.TrimSpace(k)
		if strings.HasPrefix(list, `"`) {
			end := strings.IndexByte(list[1:], '"')
			if end < 0 {
				return "", false
			}
			v, list = list[1:1+end], list[2+end:]
			list = strings.TrimPrefix(list, ",")
		} else {
			v, list, _ = strings.Cut(list, ",")
		}
		if k == name {
			return v, true
		}
	}
	return "", false
}

// clip bounds what an error quotes of a playlist.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// rendition is what a master playlist offers: a variant stream (EXT-X-STREAM-INF) or
// an audio rendition of a group (EXT-X-MEDIA TYPE=AUDIO with a URI).
type rendition struct {
	uri       string
	bandwidth int    // bits per second; variants only
	codecs    string // CODECS; variants only
	name      string // NAME; audio renditions only
	group     string // GROUP-ID; audio renditions only
	isDefault bool   // DEFAULT=YES; audio renditions only
}

// describe says which rendition was chosen, for the log and the room's title.
func (r rendition) describe() string {
	if r.group != "" {
		return fmt.Sprintf("audio rendition %q of group %q", clip(r.name), clip(r.group))
	}
	s := fmt.Sprintf("variant of %d kbit/s", r.bandwidth/1000)
	if r.codecs != "" {
		s += " (" + clip(r.codecs) + ")"
	}
	return s
}

// audioCodecs are the RFC 6381 codec names (their part before the first dot) of audio.
var audioCodecs = map[string]bool{"mp4a": true, "opus": true, "Opus": true, "mp3": true, "ac-3": true, "ec-3": true, "fLaC": true, "flac": true, "alac": true}

// audioOnly reports whether every codec of a CODECS attribute is audio.
func (r rendition) audioOnly() bool {
	if r.codecs == "" {
		return false
	}
	for _, c := range strings.Split(r.codecs, ",") {
		base, _, _ := strings.Cut(strings.TrimSpace(c), ".")
		if !audioCodecs[base] {
			return false
		}
	}
	return true
}

// chooseRendition picks what to play from a master playlist (RFC 8216 section 4.3.4):
// an audio rendition of a group (its default, else its first), else the variant of
// the lowest bandwidth whose codecs are all audio, else the first variant.
func chooseRendition(b []byte) (rendition, error) {
	var variants, audio []rendition
	sc := bufio.NewScanner(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))))
	sc.Buffer(make([]byte, 0, 4096), maxPlaylistBytes)
	var next *rendition
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		tag, val, _ := strings.Cut(line, ":")
		switch {
		case tag == "#EXT-X-MEDIA":
			typ, _ := attr(val, "TYPE")
			uri, ok := attr(val, "URI")
			if typ != "AUDIO" || !ok || uri == "" {
				continue
			}
			name, _ := attr(val, "NAME")
			group, _ := attr(val, "GROUP-ID")
			def, _ := attr(val, "DEFAULT")
			audio = append(audio, rendition{uri: uri, name: name, group: group, isDefault: def == "YES"})
		case tag == "#EXT-X-STREAM-INF":
			bw, _ := attr(val, "BANDWIDTH")
			codecs, _ := attr(val, "CODECS")
			n, _ := strconv.Atoi(bw)
			next = &rendition{bandwidth: n, codecs: codecs}
		case line == "" || strings.HasPrefix(line, "#"):
		case next != nil:
			next.uri = line
			variants = append(variants, *next)
			next = nil
		}
	}
	if err := sc.Err(); err != nil {
		return rendition{}, fmt.Errorf("master playlist: %w", err)
	}
	for _, r := range audio {
		if r.isDefault {
			return r, nil
		}
	}
	if len(audio) > 0 {
		return audio[0], nil
	}
	var best *rendition
	for i, r := range variants {
		if r.audioOnly() && (best == nil || r.bandwidth < best.bandwidth) {
			best = &variants[i]
		}
	}
	switch {
	case best != nil:
		return *best, nil
	case len(variants) > 0:
		return variants[0], nil
	}
	return rendition{}, errors.New("a master playlist that lists nothing to play")
}
