package record

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spacetui/spacetui/transport/jsonl"
	"testing"

	"github.com/spacetui/spacetui/transport"
)

// TestLogsAreBounded floods a recording for a simulated minute with what made its logs
// grow without limit: tracks whose clocks disagree (a discontinuity at every frame), a
// roster, a title and a caption that change at every tick. Each log must stay within
// its budget a minute, repeated events must be coalesced into lines that still account
// for every gap, and the last line of each kind must say the last word.
func TestLogsAreBounded(t *testing.T) {
	clock := newClock()
	var rewrites atomic.Int64
	create := func(name string) (File, error) {
		if strings.HasSuffix(name, "room.json.tmp") {
			rewrites.Add(1)
		}
		return createFile(name)
	}
	r, err := Open(Options{Dir: filepath.Join(t.TempDir(), "rec"), Now: clock.Now, Create: create})
	if err != nil {
		t.Fatal(err)
	}
	r.Event(transport.State{State: transport.StateLive})
	pkts := demoPackets(t, 10)
	const ticks = 3000 // a minute
	roster := func(n int) transport.Roster {
		sps := make([]transport.Speaker, 64)
		for i := range sps {
			sps[i] = transport.Speaker{ID: fmt.Sprint("s", i), Name: strings.Repeat("n", 70), Muted: (n+i)%2 == 0}
		}
		sps[0].Name = fmt.Sprint("roster ", n)
		return transport.Roster{Speakers: sps}
	}
	for n := 1; n <= ticks; n++ {
		clock.Advance(tick)
		for i, sp := range []string{"a", "b"} { // b's clock is an hour off a's
			r.Event(transport.AudioFrame{Codec: transport.CodecOpus, Speaker: sp, Seq: uint32(n),
				Timestamp: uint32((n + i*180000) * 960), Payload: pkts[n%len(pkts)]})
		}
		r.Event(roster(n))
		r.Event(transport.RoomInfo{ID: "r", Title: fmt.Sprint("title ", n)})
		r.Event(transport.TranscriptSegment{ID: "c1", Speaker: "a", Text: fmt.Sprint("partial ", n), Final: n == ticks})
		if n%500 == 0 {
			r.sync()
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	for name, budget := range map[string]int64{"events.jsonl": eventsBudget, "transcript.jsonl": transcriptBudget} {
		fi, err := os.Stat(filepath.Join(r.Dir(), name))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes in a minute, budget %d", name, fi.Size(), budget)
		// What was saved up at the start, a minute's worth, and the held lines of the end.
		if fi.Size() > 2*budget+32<<10 {
			t.Errorf("%s: %d bytes in a minute, over its budget of %d", name, fi.Size(), budget)
		}
	}
	if n := rewrites.Load(); n > 62 {
		t.Errorf("room.json rewritten %d times in a minute", n)
	}

	evs := readJSONL(t, filepath.Join(r.Dir(), "events.jsonl"))
	count := func(l map[string]any) int {
		if c, ok := l["count"].(float64); ok {
			return int(c)
		}
		return 1
	}
	var jumps int
	var lost float64
	for _, g := range ofType(evs, "gap") {
		if g["why"] == whyDiscontinuity {
			jumps += count(g)
			lost += g["seconds"].(float64)
		}
	}
	// Every frame but the first jumps the room clock; the gaps span the minute.
	if want := 2*ticks - 1; jumps != want {
		t.Errorf("coalesced gaps count %d discontinuities, want %d", jumps, want)
	}
	if lost < 59 || lost > 60 {
		t.Errorf("coalesced gaps account for %.3f s, want about 60", lost)
	}
	rosters := ofType(evs, "roster")
	last := rosters[len(rosters)-1]["speakers"].([]any)[0].(map[string]any)
	if last["name"] != fmt.Sprint("roster ", ticks) {
		t.Errorf("last roster line: %v, want the last roster", last)
	}
	segs := readJSONL(t, filepath.Join(r.Dir(), "transcript.jsonl"))
	if l := segs[len(segs)-1]; l["text"] != fmt.Sprint("partial ", ticks) || l["final"] != true {
		t.Errorf("last transcript line: %v, want the final segment", l)
	}
	t.Logf("%d event lines (%d gap, %d roster), %d transcript lines, %d room.json rewrites",
		len(evs), len(ofType(evs, "gap")), len(rosters), len(segs), rewrites.Load())
}

// TestLineLogRate drives a lineLog as the run goroutine does, flushing every 100 ms, for
// two minutes: a kind repeated at every frame writes at most one line a second, and
// lines beyond the budget are held until it has refilled. The file grows by the budget
// a minute at most, after the budget saved up at the start.
func TestLineLogRate(t *testing.T) {
	start := newClock().Now()
	for _, tt := range []struct {
		name string
		size int // bytes of text per line
	}{
		{"small lines", 10},
		{"large lines", 16 << 10}, // eight a minute fill the budget
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.jsonl")
			f, err := createFile(path)
			if err != nil {
				t.Fatal(err)
			}
			l := newLineLog(&sink{f: f, name: "events.jsonl", total: new(atomic.Int64)}, eventsBudget)
			text := strings.Repeat("x", tt.size)
			gaps := 0
			for n := 1; n <= 6000; n++ { // two minutes of 20 ms frames
				at := start.Add(time.Duration(n) * tick)
				if _, err := l.gap(at, at.Add(-tick), at, whyDiscontinuity); err != nil {
					t.Fatal(err)
				}
				gaps++
				if _, err := l.event(at, "", "state", jsonl.Fields{"state": "live", "detail": text}); err != nil {
					t.Fatal(err)
				}
				if n%5 == 0 {
					if err := l.flush(at, false); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := l.flush(start.Add(2*time.Minute), true); err != nil {
				t.Fatal(err)
			}
			if err := l.s.close(); err != nil {
				t.Fatal(err)
			}
			lines := readJSONL(t, path)
			fi, _ := os.Stat(path)
			var counted int
			for _, g := range ofType(lines, "gap") {
				c, ok := g["count"].(float64)
				if !ok {
					c = 1
				}
				counted += int(c)
			}
			t.Logf("%d lines, %d bytes, for %d gaps and as many states", len(lines), fi.Size(), gaps)
			if counted != gaps {
				t.Errorf("the gap lines count %d gaps, want %d", counted, gaps)
			}
			// Saved up, two minutes' worth, and the two lines held at the end.
			if max := 3*eventsBudget + 2*(tt.size+300); fi.Size() > int64(max) {
				t.Errorf("%d bytes in two minutes, want at most %d", fi.Size(), max)
			}
			if max := 2 * (2*60 + 1); len(lines) > max { // each kind once a second
				t.Errorf("%d lines, want at most %d", len(lines), max)
			}
		})
	}
}
