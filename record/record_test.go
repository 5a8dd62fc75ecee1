package record

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/internal/webvtt"
	"github.com/spacetui/spacetui/transport"
)

const tick = 20 * time.Millisecond

// sentFrame is a frame the test sent and where it must land, in samples.
type sentFrame struct {
	pkt []byte
	pos int64
}

// TestTimeline records a room through everything the timeline must survive: silent
// speakers, a timestamp wrap, a duplicate at a resume seam, an outage reported as a
// Gap with a new stream epoch, and discontinuities (a jump back, a jump far forward)
// with no Gap. A frame sent again under a new number lies behind what its track holds. Every file must validate and last as long as the wall time covered;
// every sent packet must be in its track, unaltered, exactly where the room clock puts
// it, with silence everywhere else; cues must sit on the same timeline.
func TestTimeline(t *testing.T) {
	clock := newClock()
	dir := filepath.Join(t.TempDir(), "rec")
	r, err := Open(Options{Dir: dir, Title: "Keeping rooms alive", RoomURL: "ws://u:secret@h:1/rooms/demo?token=abc",
		ClientVersion: "test", Now: clock.Now, Mixed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	pkts := demoPackets(t, 1400)
	const R = 4473924 - 300 // epoch 1's room clock wraps 2^32 samples at tick 301
	ts1 := func(n int) uint32 { return uint32((R + n) * 960) }
	ms1 := func(n int) time.Duration { return time.Duration(R+n) * tick }
	ts2 := func(n int) uint32 { return uint32((n - 700 + 5) * 960) } // epoch 2 after the outage

	var mixedSent [][]byte
	sent := map[string][]sentFrame{}
	seq := map[string]uint32{}
	send := func(n int, speaker string, ts uint32) {
		seq[speaker]++
		p := pkts[(n*7+len(speaker))%len(pkts)]
		r.Event(transport.AudioFrame{Codec: transport.CodecOpus, Speaker: speaker, Seq: seq[speaker], Timestamp: ts, Payload: p})
		sent[speaker] = append(sent[speaker], sentFrame{p, int64(n) * 960})
	}
	wallAt := func(n int) time.Time { return clock.Now().Add(time.Duration(n) * tick) }
	start := clock.Now()

	r.Event(transport.State{State: transport.StateLive})
	r.Event(transport.RoomInfo{ID: "demo", Title: "Keeping rooms alive", Listeners: 3})
	r.Event(transport.Clean(transport.Roster{Speakers: []transport.Speaker{{ID: "a1", Name: "Ada", Role: "host"}, {ID: "g1", Name: "../Grace\x1b[31m"}}}))
	r.Event(transport.Clean(transport.Roster{Speakers: []transport.Speaker{{ID: "a1", Name: "Ada", Role: "host"}, {ID: "g1", Name: "../Grace\x1b[31m"}}}))
	var lastGrace transport.AudioFrame
	for n := 1; n < 1400; n++ {
		clock.Advance(tick)
		switch {
		case n >= 10 && n < 150:
			send(n, "a1", ts1(n))
		case n >= 200 && n < 400:
			send(n, "g1", ts1(n))
			if n == 250 {
				lastGrace = transport.AudioFrame{Codec: transport.CodecOpus, Speaker: "g1", Seq: seq["g1"], Timestamp: ts1(n), Payload: sent["g1"][len(sent["g1"])-1].pkt}
			}
			if n == 251 {
				r.Event(lastGrace) // a duplicate at a resume seam: dropped
			}
			if n == 252 {
				again := lastGrace
				again.Seq += 1000
				r.Event(again) // the same frame under a new number (a segment seam): dropped
			}
		case n == 700:
			r.Event(transport.Gap{From: start.Add(450 * tick), To: wallAt(0), Why: transport.WhyNotResumed}) // a fresh join: a new epoch
			r.Event(transport.State{State: transport.StateLive, Reason: transport.ReasonRestart})
			seq["a1"] = 0 // a new epoch numbers from 1 again
			send(n, "a1", ts2(n))
		case n > 700 && n < 850:
			send(n, "a1", ts2(n))
		case n >= 900 && n < 1000:
			send(n, "g1", uint32((n-900)*960+7)) // the clock jumps back 4 s with no Gap
		case n >= 1200 && n < 1350:
			send(n, "a1", uint32((n-1200)*960+3600*48000)) // and an hour forward
		}
		switch n {
		case 80:
			r.Event(transport.TranscriptSegment{ID: "c1", Speaker: "a1", Start: ms1(10), End: ms1(80), Text: "Welcome", Final: false})
		case 150:
			r.Event(transport.TranscriptSegment{ID: "c1", Speaker: "a1", Start: ms1(10), End: ms1(150), Text: "Welcome back <all> & you", Final: true})
		case 400:
			r.Event(transport.Clean(transport.TranscriptSegment{ID: "c2", Speaker: "g1", Start: ms1(200), End: ms1(400), Text: "Retry\x1b[2J storms", Final: true}))
		case 850:
			r.Event(transport.TranscriptSegment{ID: "c3", Speaker: "a1", Start: 5 * tick, End: 155 * tick, Text: "After the restart.", Final: true})
		}
		if n >= 15 && n < 450 || n >= 700 {
			p := pkts[(n*3)%len(pkts)]
			r.WriteMixed(p)
			mixedSent = append(mixedSent, p)
		}
	}
	clock.Advance(tick)
	r.sync()
	if st := r.Stats(); st.Speakers != 2 || st.Err != nil || st.Bytes == 0 {
		t.Fatalf("stats before close: %+v", st)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	const wall = 28.0 // seconds from Open to Close
	st := r.Stats()
	if st.Dir != dir || math.Abs(st.Seconds-wall) > 0.02 {
		t.Errorf("stats: %+v, want %s and %v s", st, dir, wall)
	}

	files := listFiles(t, dir)
	want := []string{"audio.ogg", "events.jsonl", "room.json", "tracks/ada.ogg", "tracks/grace.ogg", "transcript.jsonl", "transcript.vtt"}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v, want %v", files, want)
	}

	// Every .ogg validates and lasts the wall time covered.
	for _, f := range []string{"audio.ogg", "tracks/ada.ogg", "tracks/grace.ogg"} {
		p := filepath.Join(dir, f)
		ff, oi := ffprobeDuration(t, p), opusinfoDuration(t, p, false)
		t.Logf("%s: ffprobe %.3f s, opusinfo %.3f s, wall %.3f s", f, ff, oi, wall)
		for _, d := range []float64{ff, oi} {
			if math.Abs(d-wall) > wall/100 {
				t.Errorf("%s: duration %.3f s, want %.3f s within 1%%", f, d, wall)
			}
		}
		if _, clean := readOgg(t, p); !clean {
			t.Errorf("%s: does not end cleanly", f)
		}
	}

	// Per-speaker tracks: exactly the packets sent, each where the room clock puts it,
	// and silence everywhere else.
	for id, file := range map[string]string{"a1": "ada.ogg", "g1": "grace.ogg"} {
		got, _ := readOgg(t, filepath.Join(dir, "tracks", file))
		var pos int64
		i, silence := 0, 0
		for _, p := range got {
			n, err := audio.PacketSamples(p)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			switch {
			case i < len(sent[id]) && bytes.Equal(p, sent[id][i].pkt):
				if pos != sent[id][i].pos {
					t.Errorf("%s: packet %d at %d samples, want %d", file, i, pos, sent[id][i].pos)
				}
				i++
			case bytes.Equal(p, audio.SilencePacket()):
				silence++
			default:
				t.Fatalf("%s: packet at %d samples is neither the next sent nor silence", file, pos)
			}
			pos += int64(n)
		}
		if i != len(sent[id]) {
			t.Errorf("%s: %d of %d sent packets", file, i, len(sent[id]))
		}
		if want := 1400 - len(sent[id]); silence != want {
			t.Errorf("%s: %d silence packets, want %d", file, silence, want)
		}
		t.Logf("%s: %d packets as sent, %d of silence", file, i, silence)
	}

	// The mixed track: every packet played, in order; the outage filled with silence
	// so that playback after it sits at its wall time, less at most the lag allowed.
	got, _ := readOgg(t, filepath.Join(dir, "audio.ogg"))
	var pos int64
	i := 0
	for _, p := range got {
		if i < len(mixedSent) && bytes.Equal(p, mixedSent[i]) {
			if i == 435 { // the first packet after the outage, played at tick 700
				if lag := 700*960 - pos; lag < 0 || lag > mixedSlack+960 {
					t.Errorf("audio.ogg: playback resumes %d samples before its wall time", lag)
				}
			}
			i++
		} else if !bytes.Equal(p, audio.SilencePacket()) {
			t.Fatalf("audio.ogg: unexpected packet at %d samples", pos)
		}
		pos += 960
	}
	if i != len(mixedSent) {
		t.Errorf("audio.ogg: %d of %d packets", i, len(mixedSent))
	}

	// The transcript: final segments as cues on the recording's timeline.
	cues := readVTT(t, filepath.Join(dir, "transcript.vtt"))
	wantCues := []webvtt.Cue{
		{ID: "c1", Start: 200 * time.Millisecond, End: 3 * time.Second, Voice: "Ada", Text: "Welcome back <all> & you"},
		{ID: "c2", Start: 4 * time.Second, End: 8 * time.Second, Voice: "../Grace", Text: "Retry storms"},
		{ID: "c3", Start: 14 * time.Second, End: 17 * time.Second, Voice: "Ada", Text: "After the restart."},
	}
	if len(cues) != len(wantCues) {
		t.Fatalf("cues %+v, want %+v", cues, wantCues)
	}
	for i, c := range cues {
		if c != wantCues[i] {
			t.Errorf("cue %d: %+v, want %+v", i, c, wantCues[i])
		}
	}
	segs := readJSONL(t, filepath.Join(dir, "transcript.jsonl"))
	if len(segs) != 4 || segs[0]["final"] != false || segs[0]["name"] != "Ada" || segs[3]["rec_start"] != 14.0 {
		t.Errorf("transcript.jsonl: %v", segs)
	}

	// events.jsonl: each gap logged, the roster once, the record event last.
	evs := readJSONL(t, filepath.Join(dir, "events.jsonl"))
	if n := len(ofType(evs, "roster")); n != 1 {
		t.Errorf("%d roster events for one roster sent twice", n)
	}
	gaps := ofType(evs, "gap")
	if len(gaps) != 3 || gaps[0]["why"] != transport.WhyNotResumed || gaps[0]["seconds"] != 5.0 ||
		gaps[1]["why"] != whyDiscontinuity || gaps[2]["why"] != whyDiscontinuity {
		t.Errorf("gaps: %v", gaps)
	}
	last := evs[len(evs)-1]
	if last["type"] != "record" || last["path"] != dir || last["seconds"] != 28.0 || last["bytes"].(float64) <= 0 {
		t.Errorf("last event: %v", last)
	}
	for _, e := range evs {
		b, _ := json.Marshal(e)
		if bytes.ContainsAny(b, "\x1b") || strings.Contains(string(b), `\u001b`) {
			t.Errorf("control character in %s", b)
		}
	}

	var meta roomMeta
	b, err := os.ReadFile(filepath.Join(dir, "room.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.URL != "ws://h:1/rooms/demo" || meta.Room == nil || meta.Room.ID != "demo" || len(meta.Tracks) != 2 ||
		meta.Tracks[1] != (trackMeta{ID: "g1", Name: "../Grace", File: "tracks/grace.ogg", Codec: transport.CodecOpus, Dropped: 1}) || meta.Seconds != 28.0 ||
		meta.Started != start.Format(time.RFC3339Nano) {
		t.Errorf("room.json: %s", b)
	}
}

// A track's writer is chosen by its codec: Opus into Ogg, AAC into ADTS, MP3 into MPEG
// audio frames (Vorbis into Ogg Vorbis: TestVorbisTrack). A codec without one (Speex, of
// no transport) is skipped with one warning, never written into another's file; a
// speaker whose codec changes gets a second track.
func TestTrackWriterByCodec(t *testing.T) {
	var logBuf bytes.Buffer
	r, err := Open(Options{Dir: filepath.Join(t.TempDir(), "rec"), Now: newClock().Now, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r.Event(transport.State{State: transport.StateLive})
	aac := loadStream(t, testStreams[0]).frames
	mp3 := loadStream(t, testStreams[2]).frames
	for i, p := range demoPackets(t, 10) {
		for _, f := range []transport.AudioFrame{
			{Codec: transport.CodecOpus, Speaker: "ada", Payload: p},
			{Codec: transport.CodecAAC, Speaker: "radio", Payload: aac[i]},
			{Codec: "speex", Speaker: "speex", Payload: p},
			{Codec: "speex", Speaker: "speex2", Payload: p},
		} {
			f.Seq, f.Timestamp = uint32(i), uint32(i*960)
			r.Event(f)
		}
	}
	for i, p := range mp3[:10] { // the radio's source comes back with another encoder
		r.Event(transport.AudioFrame{Codec: transport.CodecMP3, Speaker: "radio", Seq: uint32(10 + i), Timestamp: uint32(9600 + i*1254), Payload: p})
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir(filepath.Join(r.Dir(), "tracks"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
	}
	if want := []string{"ada.ogg", "radio.aac", "radio.mp3"}; !slices.Equal(names, want) {
		t.Errorf("tracks = %v, want %v", names, want)
	}
	if n := strings.Count(logBuf.String(), "no writer for its codec"); n != 1 {
		t.Errorf("%d warnings of a codec without a writer, want 1:\n%s", n, logBuf.String())
	}
	if st := r.Stats(); st.Speakers != 2 {
		t.Errorf("%d speakers, want 2 (ada, radio)", st.Speakers)
	}
}

// TestTimelineNeverRunsAhead feeds what stretched recordings: one speaker id carrying
// several interleaved streams (duplicate ids in a roster, or ids that differ only by
// the escape codes transport.Clean strips), and a room clock that runs faster than wall
// time. No file may run more than a second ahead of the wall time since the join, and
// each jump past that bound is logged as a gap.
func TestTimelineNeverRunsAhead(t *testing.T) {
	const frames = 790 // 15.8 s of wall time
	tests := []struct {
		name string
		// frame returns the frames sent at tick n.
		frame func(n int) []transport.AudioFrame
		gaps  bool // discontinuities must be logged
	}{
		{"interleaved streams under one id", func(n int) []transport.AudioFrame {
			var fs []transport.AudioFrame
			for i, off := range []int{0, 30, -35} { // ahead 0.6 s, behind 0.7 s
				fs = append(fs, transport.AudioFrame{Speaker: "spk", Seq: uint32(1000*i + n), Timestamp: uint32((n + off + 500) * 960)})
			}
			return append(fs, transport.AudioFrame{Speaker: "bob", Seq: uint32(n), Timestamp: uint32((n + 500) * 960)})
		}, false},
		{"room clock faster than wall time", func(n int) []transport.AudioFrame {
			return []transport.AudioFrame{{Speaker: "spk", Seq: uint32(n), Timestamp: uint32(n * 3 / 2 * 960)}}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			r, err := Open(Options{Dir: filepath.Join(t.TempDir(), "rec"), Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			r.Event(transport.State{State: transport.StateLive})
			r.Event(transport.Clean(transport.Roster{Speakers: []transport.Speaker{
				{ID: "spk\x1b[31m", Name: "Spk"}, {ID: "spk", Name: "Spk"}, {ID: "spk\x1b[0m", Name: "Spk"}, {ID: "bob", Name: "Bob"}}}))
			pkts := demoPackets(t, 100)
			for n := 1; n <= frames; n++ {
				clock.Advance(tick)
				for _, f := range tt.frame(n) {
					f.Codec, f.Payload = transport.CodecOpus, pkts[n%len(pkts)]
					r.Event(f)
				}
				if n%1000 == 0 {
					r.sync()
				}
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			wall := float64(frames) * tick.Seconds()
			for _, f := range listFiles(t, r.Dir()) {
				if filepath.Ext(f) != ".ogg" {
					continue
				}
				pkts, _ := readOgg(t, filepath.Join(r.Dir(), f))
				var samples int
				for _, p := range pkts {
					n, err := audio.PacketSamples(p)
					if err != nil {
						t.Fatalf("%s: %v", f, err)
					}
					samples += n
				}
				d := float64(samples) / sampleRate
				t.Logf("%s: %.3f s for %.3f s of wall time", f, d, wall)
				if d < wall || d > wall+1 {
					t.Errorf("%s lasts %.3f s, want %.3f s to %.3f s", f, d, wall, wall+1)
				}
			}
			gaps := ofType(readJSONL(t, filepath.Join(r.Dir(), "events.jsonl")), "gap")
			if tt.gaps != (len(gaps) > 0) {
				t.Errorf("gaps: %v, want some: %v", gaps, tt.gaps)
			}
		})
	}
}
