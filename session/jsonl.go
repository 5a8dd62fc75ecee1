package session

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// jsonEvent is one line of `--json` output and of events.jsonl: the contract of DESIGN.md
// ("JSON events"). Strings are already sanitized by the transport.
type jsonEvent map[string]any

// JSONWriter writes events as JSON lines, each written whole with one Write.
type JSONWriter struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// NewJSONWriter returns a JSONWriter on w.
func NewJSONWriter(w io.Writer, now func() time.Time) *JSONWriter {
	return &JSONWriter{w: w, now: now}
}

// Write writes one event of type typ with the given fields.
func (j *JSONWriter) Write(typ string, fields jsonEvent) error {
	fields["type"] = typ
	fields["time"] = j.now().UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.w.Write(b)
	return err
}

// Event writes a room event; audio frames are not events of the JSON stream and are
// skipped.
func (j *JSONWriter) Event(ev transport.Event) error {
	typ, fields := eventFields(ev)
	if typ == "" {
		return nil
	}
	return j.Write(typ, fields)
}

// eventFields maps a room event to its JSON type and fields.
func eventFields(ev transport.Event) (string, jsonEvent) {
	switch e := ev.(type) {
	case transport.RoomInfo:
		f := jsonEvent{"id": e.ID, "title": e.Title, "listeners": e.Listeners}
		if !e.Started.IsZero() {
			f["started"] = e.Started.UTC().Format(time.RFC3339)
		}
		return "room", f
	case transport.Roster:
		speakers := make([]jsonEvent, 0, len(e.Speakers))
		for _, s := range e.Speakers {
			speakers = append(speakers, jsonEvent{"id": s.ID, "name": s.Name, "role": s.Role, "muted": s.Muted})
		}
		return "roster", jsonEvent{"speakers": speakers}
	case transport.TranscriptSegment:
		return "transcript", jsonEvent{"id": e.ID, "speaker": e.Speaker,
			"start": seconds(e.Start), "end": seconds(e.End), "text": e.Text, "final": e.Final}
	case transport.State:
		f := jsonEvent{"state": string(e.State)}
		if e.Reason != "" {
			f["reason"] = e.Reason
		}
		if e.Attempt > 0 {
			f["attempt"] = e.Attempt
			f["retry_in_ms"] = e.RetryIn.Milliseconds()
		}
		if e.Detail != "" {
			f["detail"] = transport.Sanitize(e.Detail, 200)
		}
		return "state", f
	case transport.Gap:
		return "gap", jsonEvent{"from": e.From.UTC().Format(time.RFC3339Nano),
			"to": e.To.UTC().Format(time.RFC3339Nano), "seconds": seconds(e.To.Sub(e.From)), "why": e.Why}
	}
	// AudioFrame is not part of the JSON stream; Ended is reported by the State
	// (ended, room_ended) that follows it.
	return "", nil
}

// seconds is d in seconds, rounded to the millisecond so JSON carries 7.94, not
// 7.9399999999999995.
func seconds(d time.Duration) float64 { return d.Round(time.Millisecond).Seconds() }
