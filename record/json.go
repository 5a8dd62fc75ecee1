package record

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// Fields are the fields of one JSON event line, without "type" and "time".
type Fields map[string]any

// EventFields maps a room event to the type and fields of its JSON line, the contract of
// DESIGN.md ("JSON events") shared by `--json` output and events.jsonl. The strings are
// the room's as the transport cleaned them (transport.Clean). It returns "" for events that are not part of the JSON stream:
// AudioFrame, and Ended (which the State that follows it reports).
func EventFields(ev transport.Event) (string, Fields) {
	switch e := ev.(type) {
	case transport.RoomInfo:
		f := Fields{"id": e.ID, "title": e.Title, "listeners": e.Listeners}
		if !e.Started.IsZero() {
			f["started"] = e.Started.UTC().Format(time.RFC3339)
		}
		return "room", f
	case transport.Roster:
		speakers := make([]Fields, 0, len(e.Speakers))
		for _, s := range e.Speakers {
			speakers = append(speakers, Fields{"id": s.ID, "name": s.Name, "role": s.Role, "muted": s.Muted})
		}
		return "roster", Fields{"speakers": speakers}
	case transport.TranscriptSegment:
		return "transcript", Fields{"id": e.ID, "speaker": e.Speaker,
			"start": seconds(e.Start), "end": seconds(e.End),
			"text": e.Text, "final": e.Final}
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
		return "gap", gapFields(e.From, e.To, e.Why)
	}
	return "", nil
}

func gapFields(from, to time.Time, why string) Fields {
	return Fields{"from": from.UTC().Format(time.RFC3339Nano), "to": to.UTC().Format(time.RFC3339Nano),
		"seconds": seconds(to.Sub(from)), "why": why}
}

// seconds is d in seconds, rounded to the millisecond so a line carries 7.94, not
// 7.9399999999999995.
func seconds(d time.Duration) float64 { return d.Round(time.Millisecond).Seconds() }

// JSONLine encodes one JSON event line, newline included, so that it can be written
// whole with one Write: the fields plus "type" and "time" (RFC 3339, UTC). It does not
// modify f.
func JSONLine(typ string, t time.Time, f Fields) ([]byte, error) {
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
