package record

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

// File is one file of a recording as the Recorder writes it. *os.File implements it.
type File interface {
	io.Writer
	// Truncate cuts the file back to its last whole page or line after a failed write.
	Truncate(size int64) error
	Sync() error
	Close() error
}

// createFile is the default Options.Create.
func createFile(name string) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
}

// sink is one file being appended to. It counts the bytes of whole writes, and after a
// failed write it cuts the file back to them, so a full disk leaves the file ending on
// its last whole Ogg page or JSON line; from then on it refuses every write.
type sink struct {
	f     File
	name  string // relative to the recording directory, for messages
	good  int64
	total *atomic.Int64
	err   error
}

func (s *sink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.f.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		_ = s.f.Truncate(s.good) // best effort: the write error is the one to report
		s.err = fmt.Errorf("write %s: %w", s.name, err)
		return 0, s.err
	}
	s.good += int64(n)
	s.total.Add(int64(n))
	return n, nil
}

// close syncs and closes the file.
func (s *sink) close() error {
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil && s.err == nil {
		return fmt.Errorf("close %s: %w", s.name, err)
	}
	return nil
}

// chooseDir creates the recording directory: dir itself if it does not exist or is
// empty (or, with force, exists at all), else the first of dir-2, dir-3, ... that does
// not exist or is empty. A directory with anything in it is never written into.
func chooseDir(dir string, force bool) (string, error) {
	if dir == "" {
		return "", errors.New("no recording directory given")
	}
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("create recording directory: %w", err)
	}
	const maxSiblings = 1000
	for i := 1; i <= maxSiblings; i++ {
		cand := dir
		if i > 1 {
			cand = dir + "-" + strconv.Itoa(i)
		}
		err := os.Mkdir(cand, 0o755)
		if err == nil {
			return cand, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("create recording directory: %w", err)
		}
		if force && i == 1 {
			if fi, err := os.Stat(cand); err != nil || !fi.IsDir() {
				return "", fmt.Errorf("recording directory %s: not a directory", cand)
			}
			return cand, nil
		}
		if emptyDir(cand) {
			return cand, nil
		}
	}
	return "", fmt.Errorf("recording directory %s: %s-2 to -%d are all taken", dir, dir, maxSiblings)
}

// emptyDir reports whether name is a directory with nothing in it.
func emptyDir(name string) bool {
	d, err := os.Open(name)
	if err != nil {
		return false
	}
	defer d.Close()
	if fi, err := d.Stat(); err != nil || !fi.IsDir() {
		return false
	}
	_, err = d.Readdirnames(1)
	return err == io.EOF
}

// maxStem bounds a track's file name before its suffix and extension.
const maxStem = 48

// safeStem maps a name from the room to a file name stem: lower-case ASCII letters,
// digits, '.', '_' and '-', no leading or trailing dot or dash, at most maxStem bytes;
// "" when nothing usable is left. Lower case keeps "Ada" and "ada" apart on no file
// system and together on all of them, case-insensitive ones included.
func safeStem(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			r = '-'
		}
		if r == '-' {
			if dash || b.Len() == 0 {
				continue
			}
			dash = true
		} else {
			dash = false
		}
		b.WriteRune(r)
		if b.Len() >= maxStem {
			break
		}
	}
	return strings.Trim(b.String(), "-.")
}

// trackFile picks the file of a new track in dir, with extension ext: the speaker's
// name made safe, else its id, else "speaker", with -2, -3, ... appended on a collision
// with a name in used or a file already on disk (a forced recording into an old
// directory).
func trackFile(dir, name, id, ext string, used map[string]bool) string {
	stem := safeStem(name)
	if stem == "" {
		stem = safeStem(id)
	}
	if stem == "" {
		stem = "speaker"
	}
	for i := 1; ; i++ {
		file := stem + ext
		if i > 1 {
			file = stem + "-" + strconv.Itoa(i) + ext
		}
		if used[file] {
			continue
		}
		used[file] = true
		// Free unless something is there; any other error surfaces when it is created.
		if _, err := os.Lstat(filepath.Join(dir, file)); err != nil {
			return file
		}
	}
}

// ByteSize formats n bytes for people, as the recording's progress and summary lines
// show sizes.
func ByteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
