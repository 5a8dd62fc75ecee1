package lktest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// EnvBinary names the environment variable that, when set, is the LiveKit server to run.
const EnvBinary = "SPACETUI_LIVEKIT_SERVER"

// InstallHint says how to get a LiveKit server that this kit can run.
const InstallHint = "install it with scripts/setup.sh --livekit, or with " +
	"go install github.com/livekit/livekit-server/cmd/server@v1.9.11, or set " + EnvBinary

// ErrNoBinary is returned, wrapped with InstallHint, when no LiveKit server is found.
var ErrNoBinary = errors.New("no livekit server found")

// Binary returns the path of the LiveKit server to run, the first of: $SPACETUI_LIVEKIT_SERVER
// (which must then exist), livekit-server on $PATH, /usr/local/bin/livekit-server, and the
// "server" that go install leaves in $GOBIN or the first $GOPATH/bin (~/go/bin by default),
// if it says it is livekit-server. The error wraps ErrNoBinary when there is none.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if !executable(p) {
			return "", fmt.Errorf("%s=%s: not an executable file", EnvBinary, p)
		}
		return p, nil
	}
	if p, err := exec.LookPath("livekit-server"); err == nil {
		return p, nil
	}
	if p := "/usr/local/bin/livekit-server"; executable(p) {
		return p, nil
	}
	if p := goInstalled(); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("%w: %s", ErrNoBinary, InstallHint)
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// goInstalled returns where `go install .../cmd/server` put the LiveKit server, or "".
// The binary is called plain "server" there, so it is asked for its version first.
func goInstalled() string {
	dir := os.Getenv("GOBIN")
	if dir == "" {
		gopath := filepath.SplitList(os.Getenv("GOPATH"))
		if len(gopath) > 0 && gopath[0] != "" {
			dir = filepath.Join(gopath[0], "bin")
		} else if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, "go", "bin")
		}
	}
	p := filepath.Join(dir, "server")
	if dir == "" || !executable(p) {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "livekit-server ") {
		return ""
	}
	return p
}
