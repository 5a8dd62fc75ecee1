package headless

import (
	"io"
	"sync"
	"time"

	"github.com/spacetui/spacetui/record"
	"github.com/spacetui/spacetui/transport"
)

// JSONWriter writes `--json` output: one JSON event line per Write, each written whole.
// The line format is record's, shared with events.jsonl.
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
func (j *JSONWriter) Write(typ string, fields record.Fields) error {
	b, err := record.JSONLine(typ, j.now(), fields)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.w.Write(b)
	return err
}

// Event writes a room event; events outside the JSON stream (audio frames) are skipped.
func (j *JSONWriter) Event(ev transport.Event) error {
	typ, fields := record.EventFields(ev)
	if typ == "" {
		return nil
	}
	return j.Write(typ, fields)
}
