package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A user refused by a server that paces its crowd (serve --admit-rate) sees the wait
// as a turn that counts down, is asked before r gives the turn up, and is in the room
// at the turn once the server has room.
func TestTUIWaitsItsTurn(t *testing.T) {
	need(t, haveTool("tmux"), "tmux is not installed")
	// At half a join a second the waiting room books a listener over 2 s at least, so
	// the first refusal is told about 10 s.
	url, base := startServer(t, "--admit-rate", "0.5", "--faults", "overload")
	tmux, session := tuiSession(t, fmt.Sprintf("%s join %s --output null --log %s", spacetuiBin(t), url, filepath.Join(t.TempDir(), "log")))
	turn := regexp.MustCompile(`◌ server busy · your turn in ~(\d+) s`)
	screenUntil := screenWatcher(t, tmux, session)
	left := func(screen string) int {
		n, _ := strconv.Atoi(turn.FindStringSubmatch(screen)[1])
		return n
	}

	screen := screenUntil("our turn", 10*time.Second, func(s string) bool {
		m := turn.FindStringSubmatch(s)
		return m != nil && m[1] != "0" && m[1] != "1"
	})
	t.Logf("refused:\n%s", screen)
	first := left(screen)
	screen = screenUntil("the turn counting down", 5*time.Second, func(s string) bool {
		return turn.MatchString(s) && left(s) < first
	})
	tmux("send-keys", "-t", session, "r")
	screen = screenUntil("what a second r gives up", 3*time.Second, func(s string) bool {
		return strings.Contains(s, "r again gives up your turn")
	})
	t.Logf("after r:\n%s", screen)

	// The server has room again; the client waits for its turn and joins.
	faults(t, base, "none")
	screen = screenUntil("the room at our turn", time.Duration(left(screen)+5)*time.Second, func(s string) bool {
		return strings.Contains(s, "● live")
	})
	t.Logf("at our turn:\n%s", screen)
	quitTUI(t, tmux, session)
}
