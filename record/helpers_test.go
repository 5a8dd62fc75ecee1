package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/internal/fakeclock"
	"github.com/spacetui/spacetui/internal/webvtt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
}

// demoPackets returns n real Opus packets of speech from the demo room.
func demoPackets(t testing.TB, n int) [][]byte {
	t.Helper()
	f, err := os.Open("../server/demo/demo.ogg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	or, err := audio.NewOggReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	for len(pkts) < n {
		p, err := or.ReadPacket()
		if err != nil {
			t.Fatalf("demo.ogg has fewer than %d packets: %v", n, err)
		}
		if bytes.Equal(p, audio.SilencePacket()) {
			continue // keep every sent packet distinguishable from inserted silence
		}
		pkts = append(pkts, p)
	}
	return pkts
}

// readOgg demuxes a file; clean reports that it ended at a page boundary or EOS.
func readOgg(t testing.TB, path string) (pkts [][]byte, clean bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	or, err := audio.NewOggReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for {
		p, err := or.ReadPacket()
		if err == io.EOF {
			return pkts, true
		}
		if err != nil {
			return pkts, false
		}
		pkts = append(pkts, p)
	}
}

func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (opus-tools / ffmpeg); CI installs it", name)
	}
}

// ffprobeDuration validates path with ffprobe (nothing on its error log) and returns the
// duration it reports.
func ffprobeDuration(t testing.TB, path string) float64 {
	t.Helper()
	needTool(t, "ffprobe")
	cmd := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, stderr.String())
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("ffprobe %s: duration %q: %v", path, out, err)
	}
	return d
}

var playbackRE = regexp.MustCompile(`Playback length: (?:(\d+)m:)?([\d.]+)s`)

// opusinfoDuration validates path with opusinfo and returns the playback length. A file
// cut off by a crash has no end-of-stream page; eosMissingOK accepts that warning, and
// only that one.
func opusinfoDuration(t testing.TB, path string, eosMissingOK bool) float64 {
	t.Helper()
	needTool(t, "opusinfo")
	out, err := exec.Command("opusinfo", path).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !(eosMissingOK && errors.As(err, &exit)) { // opusinfo exits 1 on any warning
		t.Fatalf("opusinfo %s: %v\n%s", path, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		l := strings.ToLower(line)
		if !strings.Contains(l, "warning") && !strings.Contains(l, "error") {
			continue
		}
		if eosMissingOK && strings.Contains(l, "eos not set") {
			continue
		}
		t.Fatalf("opusinfo %s: %s\n%s", path, line, out)
	}
	m := playbackRE.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("opusinfo %s: no playback length\n%s", path, out)
	}
	minutes, _ := strconv.ParseFloat("0"+m[1], 64)
	secs, _ := strconv.ParseFloat(m[2], 64)
	return minutes*60 + secs
}

// readJSONL parses every line of a JSON lines file; each must be a whole object.
func readJSONL(t testing.TB, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: line %d: %v: %q", path, len(lines)+1, err, sc.Text())
		}
		if _, err := time.Parse(time.RFC3339, m["time"].(string)); err != nil {
			t.Fatalf("%s: line %d: time: %v", path, len(lines)+1, err)
		}
		lines = append(lines, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func ofType(lines []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["type"] == typ {
			out = append(out, l)
		}
	}
	return out
}

// readVTT reads a transcript the Recorder wrote, where every block must be a cue.
func readVTT(t testing.TB, path string) []webvtt.Cue {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := webvtt.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := errors.Join(f.Malformed...); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f.Cues
}

// faultFS is an Options.Create that makes real files but fails on demand: once budget
// bytes are written in all (the last write partly, as a full disk does), or for names
// matching deny.
type faultFS struct {
	mu     sync.Mutex
	budget int64 // < 0: unlimited
	deny   func(name string) bool
	block  chan struct{} // when set, writes wait on it: a stalled disk
}

func (fs *faultFS) create(name string) (File, error) {
	if fs.deny != nil && fs.deny(name) {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrPermission}
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: f, fs: fs}, nil
}

type faultFile struct {
	*os.File
	fs *faultFS
}

var errNoSpace = &os.PathError{Op: "write", Path: "fake", Err: syscall.ENOSPC}

func (f *faultFile) Write(p []byte) (int, error) {
	if f.fs.block != nil {
		<-f.fs.block
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.budget < 0 {
		return f.File.Write(p)
	}
	if int64(len(p)) <= f.fs.budget {
		f.fs.budget -= int64(len(p))
		return f.File.Write(p)
	}
	n, _ := f.File.Write(p[:f.fs.budget/2]) // a partial page, as write(2) leaves on a full disk
	f.fs.budget = 0
	return n, errNoSpace
}

func listFiles(t testing.TB, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func isENOSPC(err error) bool { return errors.Is(err, syscall.ENOSPC) }
