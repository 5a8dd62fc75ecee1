package record

import (
	"time"

	"github.com/spacetui/spacetui/transport/jsonl"
)

const (
	// coalesceEvery is the least time between two lines of one kind in a JSON lines
	// file: the repeats in between are merged into one coalesced line.
	coalesceEvery = time.Second
	// maxKinds bounds the kinds a lineLog follows at once (the gaps' whys and the
	// segments' ids are the room's); the lines of further kinds are merged into one
	// line per type.
	maxKinds = 64
	// eventsBudget and transcriptBudget bound the growth of events.jsonl and
	// transcript.jsonl, in bytes a minute (docs/recording.md).
	eventsBudget     = 128 << 10
	transcriptBudget = 256 << 10
	// whyMixed is the why of a coalesced gap that stands for gaps of several whys.
	whyMixed = "mixed"
)

// lineLog is one JSON lines file of a recording, events.jsonl or transcript.jsonl,
// whose growth is bounded however the room behaves. Lines of one kind are written at
// most once every coalesceEvery: a repeat within that time is held, and the repeats
// held are merged into one line (jsonl.Coalesced) written when the time is up. All the
// lines together get a budget of bytes a minute; while it is spent, lines are held and
// merged the same way. A gap's seconds add up in the merge, so every gap is still
// accounted for. Owned by the run goroutine.
type lineLog struct {
	s      *sink
	budget int64     // bytes a minute, and the most that can be saved up
	tokens int64     // bytes that may be written now; below 0 after a line larger than budget
	filled time.Time // when tokens were last topped up
	kinds  map[string]*lineKind
	held   []string // the kinds with a held line, in the order they were held
}

// lineKind is what a lineLog knows of one kind of line.
type lineKind struct {
	wrote time.Time // the time of its last line
	held  *heldLine
}

// heldLine is one line or more of a kind, not written yet.
type heldLine struct {
	entry
	n           int
	first, last time.Time
}

// entry is what a line says: an event's type and fields, or a gap, whose fields are
// made when it is written so that the gaps merged into it add up.
type entry struct {
	typ string
	f   jsonl.Fields
	gap *gapSpan
}

// gapSpan is audio lost from from to to; lost is the total of the gaps merged into it.
type gapSpan struct {
	from, to time.Time
	lost     time.Duration
	why      string
}

func newLineLog(s *sink, budget int64) *lineLog {
	return &lineLog{s: s, budget: budget, tokens: budget, kinds: map[string]*lineKind{}}
}

// event writes, or holds, a line of type typ; key names its kind.
func (l *lineLog) event(at time.Time, key, typ string, f jsonl.Fields) (wrote bool, err error) {
	return l.add(at, typ+"\x00"+key, entry{typ: typ, f: f})
}

// gap writes, or holds, a gap line; gaps of one why are one kind.
func (l *lineLog) gap(at, from, to time.Time, why string) (wrote bool, err error) {
	return l.add(at, "gap\x00"+why, entry{typ: "gap", gap: &gapSpan{from: from, to: to, lost: to.Sub(from), why: why}})
}

// add writes e at once if its kind has written nothing for coalesceEvery and the budget
// allows, else merges it into the kind's held line. It reports whether it wrote.
func (l *lineLog) add(at time.Time, key string, e entry) (bool, error) {
	k := l.kinds[key]
	if k == nil {
		if len(l.kinds) >= maxKinds {
			key = e.typ + "\x00*" // the one kind of this type beyond maxKinds
			k = l.kinds[key]
		}
		if k == nil {
			k = &lineKind{}
			l.kinds[key] = k
		}
	}
	if k.held != nil {
		k.held.merge(e, at)
		return false, nil
	}
	if k.wrote.IsZero() || at.Sub(k.wrote) >= coalesceEvery {
		b, err := jsonl.Line(e.typ, at, e.fields())
		if err != nil {
			return false, err
		}
		if l.take(at, len(b)) {
			k.wrote = at
			_, err := l.s.Write(b)
			return err == nil, err
		}
	}
	k.held = &heldLine{entry: e, n: 1, first: at, last: at}
	l.held = append(l.held, key)
	return false, nil
}

// merge adds e, of time at, to the held line.
func (h *heldLine) merge(e entry, at time.Time) {
	h.n++
	h.last = at
	if g := h.gap; g != nil && e.gap != nil {
		g.from, g.to = minTime(g.from, e.gap.from), maxTime(g.to, e.gap.to)
		g.lost += e.gap.lost
		if g.why != e.gap.why {
			g.why = whyMixed
		}
		return
	}
	h.f = e.f
}

// fields are the fields of the entry's line.
func (e entry) fields() jsonl.Fields {
	if g := e.gap; g != nil {
		f := jsonl.GapFields(g.from, g.to, g.why)
		f["seconds"] = jsonl.Seconds(g.lost)
		return f
	}
	return e.f
}

// flush writes the held lines whose kind's coalesceEvery is up, as the budget allows,
// or every one of them when all is set (the end of the recording), each with the time
// now. It forgets the kinds that have nothing held and have been quiet for
// coalesceEvery.
func (l *lineLog) flush(now time.Time, all bool) error {
	kept := l.held[:0]
	var err error
	for _, key := range l.held {
		k := l.kinds[key]
		if err != nil || !all && now.Sub(k.wrote) < coalesceEvery {
			kept = append(kept, key)
			continue
		}
		h := k.held
		var b []byte
		b, err = jsonl.Line(h.typ, now, jsonl.Coalesced(h.fields(), h.n, h.first, h.last))
		if err == nil && !l.take(now, len(b)) && !all {
			kept = append(kept, key)
			continue
		}
		if err == nil {
			_, err = l.s.Write(b)
		}
		k.held, k.wrote = nil, now
	}
	clear(l.held[len(kept):])
	l.held = kept
	for key, k := range l.kinds {
		if k.held == nil && now.Sub(k.wrote) >= coalesceEvery {
			delete(l.kinds, key)
		}
	}
	return err
}

// take spends n bytes of the budget, if it has them, topping it up first at budget
// bytes a minute. A line larger than the whole budget may be written once the budget
// is full, which leaves it in debt.
func (l *lineLog) take(now time.Time, n int) bool {
	if l.filled.IsZero() {
		l.filled = now
	}
	d := min(now.Sub(l.filled), time.Minute) // a minute fills it up: no overflow
	if add := int64(d) * l.budget / int64(time.Minute); add > 0 {
		l.tokens = min(l.budget, l.tokens+add)
		l.filled = now
	}
	if int64(n) > l.tokens && l.tokens < l.budget {
		return false
	}
	l.tokens -= int64(n)
	return true
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
