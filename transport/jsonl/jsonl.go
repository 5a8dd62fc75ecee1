// Package jsonl is the JSON-lines form of a room's events: the one schema that
// `--json` output and a recording's events.jsonl share (docs/architecture.md, "The event
// contract"). Each line is one object with "type" and "time" (RFC 3339, UTC), written
// whole. A recording coalesces repeated events: one line then stands for several of one
// kind, and carries "count", "first" and "last" (see Coalesced).
package jsonl

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// Fields are the fields of one JSON event line, without "type" and "time".
type Fields map[string]any

// EventFields maps a room event to the type and fields of its JSON line. The strings are
// the room's as the transport cleaned them (transport.Clean). It returns "" for events
// that are not part of the JSON stream: AudioFrame, and Ended (which the State that
// follows it reports).
func EventFields(ev transport.Event) (string, Fields) {
	switch e := ev.(type) {
	case transport.RoomInfo:
		f := Fields{"id": e.ID, "title": e.Title, "listeners": e.Listeners}
		if !e.Started.IsZero() {
			f["started"] = e.Started.UTC().Format(time.RFC3339)
		}
		if e.BehindLive > 0 {
			f["behind_live"] = Seconds(e.BehindLive)
		}
		return "room", f
	case transport.Roster:
		speakers := make([]Fields, 0, len(e.Speakers))
		for _, s := range e.Speakers {
			speakers = append(speakers, Fields{"id": s.ID, "name": s.Name, "role": s.Role, "muted": s.Muted})
		}
		return "roster", Fields{"speakers": speakers}
	case transport.TranscriptSegment:
		f := Fields{"id": e.ID, "speaker": e.Speaker,
			"start": Seconds(e.Start), "end": Seconds(e.End),
			"text": e.Text, "final": e.Final}
		if e.Chat {
			f["chat"] = true
		}
		return "transcript", f
	case transport.State:
		f := Fields{"state": string(e.State)}
		if e.Reason != "" {
			f["reason"] = e.Reason
		}
		if e.Attempt > 0 {
			f["attempt"] = e.Attempt
			f["retry_in_ms"] = e.RetryIn.Milliseconds()
		}
		if e.Detail != "" {
			f["detail"] = e.Detail
		}
		return "state", f
	case transport.Gap:
		return "gap", GapFields(e.From, e.To, e.Why)
	}
	return "", nil
}

// GapFields are the fields of a "gap" line: audio lost from from to to, and why.
func GapFields(from, to time.Time, why string) Fields {
	return Fields{"from": from.UTC().Format(time.RFC3339Nano), "to": to.UTC().Format(time.RFC3339Nano),
		"seconds": Seconds(to.Sub(from)), "why": why}
}

// Coalesced returns a copy of f, the fields of the last of count events of one kind, as
// the line that stands for all of them: with "count", and the times of the first and
// the last of them, "first" and "last" (RFC 3339, UTC). The line's own "time" is when
// it is written. For a gap line the caller sums "seconds" over the gaps, so that every
// second lost is still accounted for.
func Coalesced(f Fields, count int, first, last time.Time) Fields {
	c := make(Fields, len(f)+3)
	for k, v := range f {
		c[k] = v
	}
	c["count"] = count
	c["first"] = first.UTC().Format(time.RFC3339Nano)
	c["last"] = last.UTC().Format(time.RFC3339Nano)
	return c
}

// Seconds is d in seconds as a line carries it: rounded to the millisecond, so 7.94,
// not 7.9399999999999995.
func Seconds(d time.Duration) float64 { return d.Round(time.Millisecond).Seconds() }

// Line encodes one JSON event line, newline included, so that it can be written
// whole with one Write: the fields plus "type" and "time" (RFC 3339, UTC). It does not
// modify f.
func Line(typ string, t time.Time, f Fields) ([]byte, error) {
	line := make(Fields, len(f)+2)
	for k, v := range f {
		line[k] = v
	}
	line["type"] = typ
	line["time"] = t.UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(line)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", typ, err)
	}
	return append(b, '\n'), nil
}

// Writer writes JSON event lines to an io.Writer (the `--json` stdout), one whole line
// per Write, safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// NewWriter returns a Writer on w that stamps each line with now().
func NewWriter(w io.Writer, now func() time.Time) *Writer {
	return &Writer{w: w, now: now}
}

// Write writes one line of type typ with the given fields.
func (j *Writer) Write(typ string, fields Fields) error {
	b, err := Line(typ, j.now(), fields)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.w.Write(b)
	return err
}

// Event writes a room event; events outside the JSON stream (audio frames) are skipped.
func (j *Writer) Event(ev transport.Event) error {
	typ, fields := EventFields(ev)
	if typ == "" {
		return nil
	}
	return j.Write(typ, fields)
}
