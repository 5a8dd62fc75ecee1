package mumble

import (
	"bufio"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spacetui/spacetui/transport"
)

// knownHostsFile is the file, under the state directory, that remembers each server's
// certificate fingerprint: one "HOST:PORT SHA256-HEX" line per server.
const knownHostsFile = "mumble_known_hosts"

// CertChangedError refuses a server whose certificate is not the one remembered for it.
type CertChangedError struct {
	Addr     string
	Old, New string // SHA-256 fingerprints, hex
	File     string // the file that remembers Old
}

func (e *CertChangedError) Error() string {
	return fmt.Sprintf("the certificate of %s changed (was sha256 %s, now %s): if the server's owner changed it, delete its line from %s, or join with --insecure",
		e.Addr, short(e.Old), short(e.New), e.File)
}

// Unwrap makes a changed certificate a permanent refusal: retrying cannot fix it.
func (e *CertChangedError) Unwrap() error { return transport.ErrUnauthorized }

// short abbreviates a fingerprint for one line: the first and last 8 hex digits.
func short(fp string) string {
	if len(fp) <= 20 {
		return fp
	}
	return fp[:8] + "…" + fp[len(fp)-8:]
}

// fingerprint is the SHA-256 of a certificate's DER, in hex.
func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// StateDir returns the directory spacetui keeps state in: $XDG_STATE_HOME/spacetui, or
// ~/.local/state/spacetui.
func StateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "spacetui"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "spacetui"), nil
}

// knownHosts is the file of remembered fingerprints. Its lock serialises this process's
// reads and writes; a second process racing to remember the same server writes the
// same line.
type knownHosts struct {
	path string
	mu   sync.Mutex
}

// trust checks fp against what is remembered for addr. It remembers a server not seen
// before (first is then true) and refuses a changed one with a *CertChangedError.
func (k *knownHosts) trust(addr, fp string) (first bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	old, err := k.lookup(addr)
	if err != nil {
		return false, err
	}
	switch old {
	case fp:
		return false, nil
	case "":
		return true, k.add(addr, fp)
	}
	return false, &CertChangedError{Addr: addr, Old: old, New: fp, File: k.path}
}

func (k *knownHosts) lookup(addr string) (string, error) {
	f, err := os.Open(k.path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if host, fp, ok := strings.Cut(strings.TrimSpace(sc.Text()), " "); ok && host == addr {
			return strings.TrimSpace(fp), nil
		}
	}
	return "", sc.Err()
}

func (k *knownHosts) add(addr, fp string) error {
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(k.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "%s %s\n", addr, fp); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
