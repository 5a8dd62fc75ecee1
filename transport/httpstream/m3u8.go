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
// a rendition of a group (EXT-X-MEDIA TYPE=AUDIO or SUBTITLES with a URI).
type rendition struct {
	uri       string
	bandwidth int    // bits per second; variants only
	codecs    string // CODECS; variants only
	audio     string // AUDIO, the group of its audio renditions; variants only
	subtitles string // SUBTITLES, the group of its subtitle renditions; variants only
	kind      string // TYPE, lower case: "audio" or "subtitles"; renditions of a group only
	name      string // NAME; renditions of a group only
	group     string // GROUP-ID; renditions of a group only
	isDefault bool   // DEFAULT=YES; renditions of a group only
}

// describe says which rendition was chosen, for the log and the room's title.
func (r rendition) describe() string {
	if r.group != "" {
		return fmt.Sprintf("%s rendition %q of group %q", r.kind, clip(r.name), clip(r.group))
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
// the lowest bandwidth whose codecs are all audio, else the first variant. With it, it
// picks the subtitles of the variant (the one chosen, else the first whose AUDIO group
// is the one chosen from, else the first): the default rendition of its SUBTITLES
// group, else the group's first; subs.uri is "" when there are none.
func chooseRendition(b []byte) (play, subs rendition, err error) {
	var variants, groups []rendition
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
			if typ != "AUDIO" && typ != "SUBTITLES" || !ok || uri == "" {
				continue
			}
			name, _ := attr(val, "NAME")
			group, _ := attr(val, "GROUP-ID")
			def, _ := attr(val, "DEFAULT")
			groups = append(groups, rendition{uri: uri, kind: strings.ToLower(typ), name: name, group: group, isDefault: def == "YES"})
		case tag == "#EXT-X-STREAM-INF":
			bw, _ := attr(val, "BANDWIDTH")
			codecs, _ := attr(val, "CODECS")
			audio, _ := attr(val, "AUDIO")
			subtitles, _ := attr(val, "SUBTITLES")
			n, _ := strconv.Atoi(bw)
			next = &rendition{bandwidth: n, codecs: codecs, audio: audio, subtitles: subtitles}
		case line == "" || strings.HasPrefix(line, "#"):
		case next != nil:
			next.uri = line
			variants = append(variants, *next)
			next = nil
		}
	}
	if err := sc.Err(); err != nil {
		return rendition{}, rendition{}, fmt.Errorf("master playlist: %w", err)
	}
	var variant rendition
	if len(variants) > 0 {
		variant = variants[0]
	}
	if play, ok := groupChoice(groups, "audio", ""); ok {
		for _, v := range variants {
			if v.audio == play.group {
				variant = v
				break
			}
		}
		return play, variantSubtitles(groups, variant), nil
	}
	if len(variants) == 0 {
		return rendition{}, rendition{}, errors.New("a master playlist that lists nothing to play")
	}
	for _, r := range variants {
		if r.audioOnly() && (!variant.audioOnly() || r.bandwidth < variant.bandwidth) {
			variant = r
		}
	}
	return variant, variantSubtitles(groups, variant), nil
}

// variantSubtitles is the subtitle rendition chosen from v's SUBTITLES group, if it
// names one.
func variantSubtitles(groups []rendition, v rendition) rendition {
	if v.subtitles == "" {
		return rendition{}
	}
	subs, _ := groupChoice(groups, "subtitles", v.subtitles)
	return subs
}

// groupChoice is the default rendition of kind in group (in any group if group is
// ""), else the first.
func groupChoice(rs []rendition, kind, group string) (rendition, bool) {
	var first *rendition
	for i, r := range rs {
		if r.kind != kind || group != "" && r.group != group {
			continue
		}
		if r.isDefault {
			return r, true
		}
		if first == nil {
			first = &rs[i]
		}
	}
	if first == nil {
		return rendition{}, false
	}
	return *first, true
}
