package record

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/webvtt"
	"github.com/spacetui/spacetui/transport"
)

// TestCuesDoNotOverlap joins a room mid-sentence, 2 s into its clock, and receives cues
// whose ends run past the next cue of the same speaker. A cue's end is clipped to the
// join (its start too) and to the start of the speaker's next cue; cues of different
// speakers may overlap, and the file stays in order of start time.
func TestCuesDoNotOverlap(t *testing.T) {
	clock := newClock()
	r, err := Open(Options{Dir: filepath.Join(t.TempDir(), "rec"), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	const join = 2000 // the room clock at the join, in ms
	// Captions arrive, as they do, when their speech ends: at tick n.
	segs := map[int][]transport.TranscriptSegment{
		// Started 1.935 s before the join; the speaker stopped 1.35 s after it.
		68: {{ID: "c1", Speaker: "a", Start: ms(join - 1935), End: ms(join + 1350), Text: "mid-sentence", Final: true}},
		// Ends before the join: not in the recording.
		70:  {{ID: "c0", Speaker: "b", Start: ms(join - 1900), End: ms(join - 100), Text: "too early", Final: true}},
		200: {{ID: "c2", Speaker: "a", Start: ms(join + 1730), End: ms(join + 4000), Text: "next", Final: true}},
		325: {{ID: "c5", Speaker: "a", Start: ms(join + 6200), End: ms(join + 6500), Text: "after", Final: false},
			{ID: "b1", Speaker: "b", Start: ms(join + 5500), End: ms(join + 6500), Text: "over it", Final: true}},
		350: {{ID: "c3", Speaker: "a", Start: ms(join + 5000), End: ms(join + 7000), Text: "runs on", Final: true}},
		400: {{ID: "c4", Speaker: "a", Start: ms(join + 6200), End: ms(join + 8000), Text: "after it", Final: true}},
	}
	pkts := demoPackets(t, 10)
	for n := 1; n <= 450; n++ {
		clock.Advance(tick)
		r.Event(transport.AudioFrame{Codec: transport.CodecOpus, Speaker: "a", Seq: uint32(n),
			Timestamp: uint32((join/20 + n) * 960), Payload: pkts[n%len(pkts)]})
		for _, s := range segs[n] {
			r.Event(s)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	got := readVTT(t, filepath.Join(r.Dir(), "transcript.vtt"))
	want := []webvtt.Cue{
		{ID: "c1", Start: 0, End: ms(1350), Voice: "a", Text: "mid-sentence"},
		{ID: "c2", Start: ms(1730), End: ms(4000), Voice: "a", Text: "next"},
		{ID: "c3", Start: ms(5000), End: ms(6200), Voice: "a", Text: "runs on"},
		{ID: "b1", Start: ms(5500), End: ms(6500), Voice: "b", Text: "over it"},
		{ID: "c4", Start: ms(6200), End: ms(8000), Voice: "a", Text: "after it"},
	}
	if len(got) != len(want) {
		t.Fatalf("cues:\n%+v\nwant\n%+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("cue %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A chat message (Mumble's channel text) is marked as chat in both transcript files:
// "chat": true in transcript.jsonl, a <v.chat Name> cue in transcript.vtt.
func TestChatMarked(t *testing.T) {
	clock := newClock()
	r, err := Open(Options{Dir: filepath.Join(t.TempDir(), "rec"), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	pkts := demoPackets(t, 10)
	for n := 1; n <= 100; n++ {
		clock.Advance(tick)
		r.Event(transport.AudioFrame{Codec: transport.CodecOpus, Speaker: "a", Seq: uint32(n), Timestamp: uint32(n * 960), Payload: pkts[n%len(pkts)]})
		if n == 50 {
			r.Event(transport.TranscriptSegment{ID: "m1", Speaker: "a", Start: time.Second, End: time.Second, Text: "typed", Final: true, Chat: true})
			r.Event(transport.TranscriptSegment{ID: "c1", Speaker: "a", Start: 500 * time.Millisecond, End: time.Second, Text: "said", Final: true})
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	vtt, _ := os.ReadFile(filepath.Join(r.Dir(), "transcript.vtt"))
	jl, _ := os.ReadFile(filepath.Join(r.Dir(), "transcript.jsonl"))
	if !strings.Contains(string(vtt), "<v.chat a>typed") || !strings.Contains(string(vtt), "<v a>said") {
		t.Errorf("transcript.vtt marks the chat message as <v.chat a> and the caption as <v a>:\n%s", vtt)
	}
	if n := strings.Count(string(jl), `"chat":true`); n != 1 {
		t.Errorf("transcript.jsonl: %d lines marked chat, want 1:\n%s", n, jl)
	}
}
