package record

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/fakeclock"
	"github.com/spacetui/spacetui/internal/webvtt"
	"github.com/spacetui/spacetui/transport"
)

// feed sends n ticks of two speakers talking and of mixed audio, advancing the clock.
func feed(r *Recorder, clock *fakeclock.Clock, pkts [][]byte, from, n int) {
	for i := from; i < from+n; i++ {
		clock.Advance(tick)
		p := pkts[i%len(pkts)]
		r.Event(transport.AudioFrame{Codec: transport.CodecOpus, Speaker: "a", Seq: uint32(i), Timestamp: uint32(i * 960), Payload: p})
		if i%3 == 0 {
			r.Event(transport.AudioFrame{Codec: transport.CodecOpus, Speaker: "b", Seq: uint32(i), Timestamp: uint32(i * 960), Payload: p})
		}
		r.WriteMixed(p)
	}
}

// TestKilled copies a recording's files while it runs, as kill -9 would leave them, and
// checks that every copy validates and plays to within half a second of what was
// written: at once (the writer's pages every 500 ms of audio) and after a wall-time
// flush interval (the flusher).
func TestKilled(t *testing.T) {
	clock := newClock()
	r, err := Open(Options{Dir: t.TempDir(), Force: true, Now: clock.Now, Mixed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pkts := demoPackets(t, 500)
	r.Event(transport.Roster{Speakers: []transport.Speaker{{ID: "a", Name: "Ada"}, {ID: "b", Name: "Bob"}}})
	feed(r, clock, pkts, 0, 253) // 5.06 s: not a whole number of pages
	r.sync()
	// The first frame came 20 ms after Open: the tracks start with one silence packet
	// and end at 5.08 s; the mixed track got 253 packets from time 0.
	written := map[string]float64{"audio.ogg": 5.06, "tracks/ada.ogg": 5.08, "tracks/bob.ogg": 5.08}

	check := func(name string, maxShort float64) {
		snap := t.TempDir()
		for f := range written {
			b, err := os.ReadFile(filepath.Join(r.Dir(), f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(snap, filepath.Base(f)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for f, w := range written {
			p := filepath.Join(snap, filepath.Base(f))
			ff, oi := ffprobeDuration(t, p), opusinfoDuration(t, p, true)
			if _, clean := readOgg(t, p); !clean {
				t.Errorf("%s %s: cut inside a page", name, f)
			}
			t.Logf("%s %s: ffprobe %.3f s, opusinfo %.3f s, written %.3f s", name, f, ff, oi, w)
			for _, d := range []float64{ff, oi} {
				if d < w-maxShort-0.007 || d > w+0.001 { // 0.0065 s of pre-skip

					t.Errorf("%s %s: plays %.3f s of %.3f s written", name, f, d, w)
				}
			}
		}
	}
	check("at once", 0.5)
	time.Sleep(2 * flushEvery) // real time: the flusher runs on wall time
	check("after a flush", 0.01)
}

// TestDiskFull fills the disk mid-recording through an injected file system: the
// recording stops with one clear error and one log line, every file stays valid up to
// its last whole page or line, and further calls are harmless no-ops.
func TestDiskFull(t *testing.T) {
	clock := newClock()
	var logBuf bytes.Buffer
	fs := &faultFS{budget: 40 << 10}
	r, err := Open(Options{Dir: t.TempDir(), Force: true, Now: clock.Now, Mixed: true, Create: fs.create,
		Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	pkts := demoPackets(t, 500)
	feed(r, clock, pkts, 0, 2000)
	r.sync()
	checkStopped(t, r, &logBuf)
}

// TestDiskFullTmpfs does the same on a real 256 kB tmpfs.
func TestDiskFullTmpfs(t *testing.T) {
	dir := tmpfs(t, "size=256k")
	clock := newClock()
	var logBuf bytes.Buffer
	r, err := Open(Options{Dir: filepath.Join(dir, "rec"), Now: clock.Now, Mixed: true,
		Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	pkts := demoPackets(t, 500)
	for i := 0; i < 20 && r.Stats().Err == nil; i++ {
		feed(r, clock, pkts, i*500, 500)
		r.sync()
	}
	checkStopped(t, r, &logBuf)
}

func checkStopped(t *testing.T, r *Recorder, logBuf *bytes.Buffer) {
	t.Helper()
	err := r.Stats().Err
	if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.HasPrefix(err.Error(), "recording stopped: ") {
		t.Fatalf("Stats().Err = %v, want a stop on ENOSPC", err)
	}
	t.Logf("error: %v", err)
	before := r.Stats().Bytes
	r.Event(transport.AudioFrame{Codec: transport.CodecOpus, Speaker: "a", Seq: 1e6, Timestamp: 7, Payload: []byte{0xf8, 0xff, 0xfe}})
	r.Event(transport.Roster{Speakers: []transport.Speaker{{ID: "z"}}})
	r.WriteMixed([]byte{0xf8, 0xff, 0xfe})
	r.sync()
	if r.Stats().Bytes != before {
		t.Error("wrote after the recording stopped")
	}
	if cerr := r.Close(); cerr != err {
		t.Errorf("Close = %v, want %v", cerr, err)
	}
	if cerr := r.Close(); cerr != err {
		t.Errorf("second Close = %v", cerr)
	}
	if n := strings.Count(logBuf.String(), "\n"); n != 1 || !strings.Contains(logBuf.String(), "recording stopped") {
		t.Errorf("log, want one line:\n%s", logBuf.String())
	}
	for _, f := range listFiles(t, r.Dir()) {
		p := filepath.Join(r.Dir(), f)
		switch filepath.Ext(f) {
		case ".ogg":
			if _, clean := readOgg(t, p); !clean {
				t.Errorf("%s: ends inside a page", f)
			}
			d := ffprobeDuration(t, p)
			opusinfoDuration(t, p, true)
			t.Logf("%s: %.3f s", f, d)
		case ".jsonl":
			readJSONL(t, p)
		}
	}
}

// tmpfs mounts a tmpfs with the given options, or skips where that is not allowed.
func tmpfs(t *testing.T, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; the injected-fault tests cover the same path")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestUnwritable covers a directory that cannot be written: a read-only file system
// fails Open with a clear error; a tracks/ directory that refuses new files stops the
// recording at the first frame, and the files already open are finalized.
func TestUnwritable(t *testing.T) {
	t.Run("read-only tmpfs", func(t *testing.T) {
		dir := tmpfs(t, "ro,size=64k")
		_, err := Open(Options{Dir: filepath.Join(dir, "rec")})
		if !errors.Is(err, syscall.EROFS) || !strings.HasPrefix(err.Error(), "create recording directory: ") {
			t.Fatalf("Open = %v, want a read-only file system error", err)
		}
	})
	t.Run("injected", func(t *testing.T) {
		clock := newClock()
		var logBuf bytes.Buffer
		fs := &faultFS{budget: -1, deny: func(name string) bool { return strings.Contains(name, "tracks") }}
		r, err := Open(Options{Dir: t.TempDir(), Force: true, Now: clock.Now, Mixed: true, Create: fs.create,
			Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
		if err != nil {
			t.Fatal(err)
		}
		pkts := demoPackets(t, 50)
		for _, p := range pkts[:30] {
			clock.Advance(tick)
			r.WriteMixed(p)
		}
		feed(r, clock, pkts, 30, 20)
		r.sync()
		err = r.Close()
		if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "tracks/") {
			t.Fatalf("Close = %v, want permission denied on a track", err)
		}
		if n := strings.Count(logBuf.String(), "\n"); n != 1 {
			t.Errorf("log, want one line:\n%s", logBuf.String())
		}
		p := filepath.Join(r.Dir(), "audio.ogg")
		opusinfoDuration(t, p, false) // finalized: its end-of-stream page is there
		ffprobeDuration(t, p)
	})
	t.Run("create fails at open", func(t *testing.T) {
		fs := &faultFS{budget: -1, deny: func(name string) bool { return strings.HasSuffix(name, "events.jsonl") }}
		_, err := Open(Options{Dir: t.TempDir(), Force: true, Create: fs.create})
		if !errors.Is(err, os.ErrPermission) || !strings.HasPrefix(err.Error(), "create events.jsonl: ") {
			t.Fatalf("Open = %v", err)
		}
	})
}

// TestStalledDisk blocks every write: Event and WriteMixed must still return at once,
// drop what does not fit, and the recording logs the drop as a gap once the disk
// comes back.
func TestStalledDisk(t *testing.T) {
	clock := newClock()
	fs := &faultFS{budget: -1}
	r, err := Open(Options{Dir: t.TempDir(), Force: true, Now: clock.Now, Create: fs.create})
	if err != nil {
		t.Fatal(err)
	}
	fs.block = make(chan struct{})
	start := time.Now()
	for i := 0; i < queueLen+500; i++ {
		r.Event(transport.State{State: transport.StateLive})
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Event blocked for %v on a stalled disk", d)
	}
	close(fs.block)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	gaps := ofType(readJSONL(t, filepath.Join(r.Dir(), "events.jsonl")), "gap")
	if len(gaps) != 1 || gaps[0]["why"] != "recorder_overrun" {
		t.Errorf("gaps %v, want one recorder_overrun", gaps)
	}
}

// TestHostileNames gives speakers names and ids that must not become unsafe paths.
func TestHostileNames(t *testing.T) {
	clock := newClock()
	dir := t.TempDir()
	r, err := Open(Options{Dir: dir, Force: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	hostile := []transport.Speaker{
		{ID: "1", Name: "../../etc/passwd"},
		{ID: "2", Name: "/abs/path"},
		{ID: "3", Name: ".."},
		{ID: "4", Name: ".hidden"},
		{ID: "5", Name: "a\x00b\nc\x1b]0;title\x07d"},
		{ID: "6", Name: strings.Repeat("long", 500)},
		{ID: "7", Name: "Ada"},
		{ID: "8", Name: "ada"},
		{ID: "9", Name: "ADA"},
		{ID: "10", Name: "Линус"},
		{ID: "../11", Name: ""},
		{ID: "12", Name: "con.ogg"},
		{ID: "13", Name: "a/../../b\\c"},
		{ID: "⁂", Name: ".."},
	}
	r.Event(transport.Roster{Speakers: hostile})
	for i, s := range hostile {
		clock.Advance(tick)
		r.Event(transport.AudioFrame{Codec: transport.CodecOpus, Speaker: s.ID, Seq: 1, Timestamp: uint32(i * 960), Payload: []byte{0xf8, 0xff, 0xfe}})
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	safe := regexp.MustCompile(`^tracks/[a-z0-9_][a-z0-9._-]{0,60}\.ogg$`)
	seen := map[string]bool{}
	for _, f := range listFiles(t, dir) {
		if !strings.HasPrefix(f, "tracks/") {
			continue
		}
		if !safe.MatchString(f) {
			t.Errorf("unsafe track file %q", f)
		}
		seen[f] = true
		opusinfoDuration(t, filepath.Join(dir, f), false)
	}
	if len(seen) != len(hostile) {
		t.Errorf("%d track files for %d speakers: %v", len(seen), len(hostile), seen)
	}
	for _, want := range []string{"tracks/etc-passwd.ogg", "tracks/ada.ogg", "tracks/ada-2.ogg", "tracks/ada-3.ogg", "tracks/speaker.ogg", "tracks/3.ogg", "tracks/11.ogg"} {
		if !seen[want] {
			t.Errorf("no %s in %v", want, seen)
		}
	}
}

func TestSafeStem(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Ada", "ada"},
		{"Grace Hopper", "grace-hopper"},
		{"../../etc/passwd", "etc-passwd"},
		{"..", ""},
		{".hidden", "hidden"},
		{"a//b", "a-b"},
		{"x.ogg", "x.ogg"},
		{"--x--", "x"},
		{"Линус", ""},
		{"é", ""},
		{strings.Repeat("a", 100), strings.Repeat("a", maxStem)},
	} {
		if got := safeStem(tc.in); got != tc.want {
			t.Errorf("safeStem(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzSafeStem(f *testing.F) {
	for _, s := range []string{"Ada", "../x", "..", ".a", "\x00", strings.Repeat("é", 80)} {
		f.Add(s)
	}
	ok := regexp.MustCompile(`^([a-z0-9_][a-z0-9._-]*[a-z0-9_])?$|^[a-z0-9_]$`)
	f.Fuzz(func(t *testing.T, s string) {
		got := safeStem(s)
		if len(got) > maxStem || !ok.MatchString(got) || got == "." || got == ".." {
			t.Fatalf("safeStem(%q) = %q", s, got)
		}
	})
}

// FuzzVTTCue checks that no text from the room can break a cue out of its block: the
// cue reads back as it was written.
func FuzzVTTCue(f *testing.F) {
	f.Add("c1", "Ada", "hello")
	f.Add("a-->b", "x>y", "<b>&\n\nWEBVTT")
	f.Add("a--->b", "NOTE", "&amp; &lrm;")
	f.Add("NOTE", "v", "")
	f.Fuzz(func(t *testing.T, id, voice, text string) {
		id, voice, text = transport.Sanitize(id, transport.MaxNameRunes), transport.Sanitize(voice, transport.MaxNameRunes), transport.Sanitize(text, transport.MaxTextRunes)
		if voice == "" {
			voice = "v"
		}
		b := append([]byte(vttHeader), vttCue(id, 48000, 96000, voice, text, false)...)
		file, err := webvtt.Parse(b)
		if err != nil || len(file.Malformed) != 0 || len(file.Cues) != 1 {
			t.Fatalf("%q: %v, %+v", b, err, file)
		}
		got := file.Cues[0]
		if got.Start != time.Second || got.End != 2*time.Second || got.Voice != voice || got.Text != text ||
			(got.ID == "") != (id == "") || strings.Contains(got.ID, "-->") {
			t.Fatalf("%q reads back as %+v", b, got)
		}
	})
}

// TestDir covers the choice of directory: a fresh or empty DIR is used, a non-empty one
// never written into (DIR-2, DIR-3, ...), unless Force.
func TestDir(t *testing.T) {
	base := filepath.Join(t.TempDir(), "sub", "rec")
	open := func(force bool) *Recorder {
		t.Helper()
		r, err := Open(Options{Dir: base, Force: force})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if d := open(false).Dir(); d != base {
		t.Errorf("fresh: %s", d)
	}
	if d := open(false).Dir(); d != base+"-2" {
		t.Errorf("non-empty: %s, want -2", d)
	}
	if err := os.Mkdir(base+"-3", 0o755); err != nil {
		t.Fatal(err)
	}
	if d := open(false).Dir(); d != base+"-3" {
		t.Errorf("empty sibling: %s, want -3", d)
	}
	if d := open(false).Dir(); d != base+"-4" {
		t.Errorf("next: %s, want -4", d)
	}
	if err := os.WriteFile(filepath.Join(base, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d := open(true).Dir(); d != base {
		t.Errorf("force: %s", d)
	}
	if b, err := os.ReadFile(filepath.Join(base, "keep.txt")); err != nil || string(b) != "mine" {
		t.Errorf("force touched another file: %q %v", b, err)
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Dir: file, Force: true}); err == nil {
		t.Error("forced into a regular file")
	}
	if _, err := Open(Options{}); err == nil {
		t.Error("opened without a directory")
	}
}

// TestConcurrentClose calls everything from several goroutines while closing; run it
// with -race.
func TestConcurrentClose(t *testing.T) {
	r, err := Open(Options{Dir: t.TempDir(), Force: true, Mixed: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				r.Event(transport.AudioFrame{Codec: transport.CodecOpus, Speaker: "s", Seq: uint32(i), Timestamp: uint32(i * 960), Payload: []byte{0xf8, 0xff, 0xfe}})
				r.WriteMixed([]byte{0xf8, 0xff, 0xfe})
				_ = r.Stats()
			}
		})
	}
	wg.Go(func() { _ = r.Close() })
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestInvalidPacket records a packet whose duration cannot be read as silence.
func TestInvalidPacket(t *testing.T) {
	clock := newClock()
	r, err := Open(Options{Dir: t.TempDir(), Force: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	good := demoPackets(t, 2)
	for i, p := range [][]byte{good[0], {0xff, 0x00}, good[1]} { // 0xff: code 3 with zero frames
		clock.Advance(tick)
		r.Event(transport.AudioFrame{Codec: transport.CodecOpus, Speaker: "s", Seq: uint32(i), Timestamp: uint32(i * 960), Payload: p})
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := readOgg(t, filepath.Join(r.Dir(), "tracks", "s.ogg"))
	// The first frame arrived 20 ms after Open: silence first.
	silence := []byte{0xf8, 0xff, 0xfe}
	if len(got) != 4 || !bytes.Equal(got[0], silence) || !bytes.Equal(got[1], good[0]) || !bytes.Equal(got[2], silence) || !bytes.Equal(got[3], good[1]) {
		t.Errorf("packets %x", got)
	}
}

// TestSilentTrackFollowsWallTime: while live, a speaker who stops talking still gets
// silence up to within trackSlack of now, so a kill -9 leaves their track as long as the
// others; during an outage it does not, so frames a resume delivers late land in place.
func TestSilentTrackFollowsWallTime(t *testing.T) {
	clock := newClock()
	r, err := Open(Options{Dir: t.TempDir(), Force: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pkts := demoPackets(t, 50)
	length := func() float64 {
		r.sync()
		got, _ := readOgg(t, filepath.Join(r.Dir(), "tracks", "ada.ogg"))
		return float64(len(got)) * 0.02
	}
	r.Event(transport.Roster{Speakers: []transport.Speaker{{ID: "a", Name: "Ada"}, {ID: "b", Name: "Bob"}}})
	r.Event(transport.State{State: transport.StateLive})
	feed(r, clock, pkts, 0, 50) // 1 s of Ada (and Bob)
	clock.Advance(3 * time.Second)
	time.Sleep(3 * flushEvery) // the flusher runs on wall time
	if got, want := length(), 4.0-float64(trackSlack)/sampleRate; got < want-0.021 || got > want+0.021 {
		t.Fatalf("live and silent: ada.ogg is %.2f s long, want %.2f s", got, want)
	}
	r.Event(transport.State{State: transport.StateReconnecting})
	before := length()
	clock.Advance(5 * time.Second)
	time.Sleep(3 * flushEvery)
	if got := length(); got != before {
		t.Fatalf("during an outage ada.ogg grew from %.2f s to %.2f s", before, got)
	}
	// Closing during the outage logs it as a gap, from the drop to the end.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(r.Dir(), "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"seconds":5,"time"`) || !strings.Contains(string(b), `"why":"disconnected"`) {
		t.Fatalf("no 5 s gap for the outage at the end:\n%s", b)
	}
}
