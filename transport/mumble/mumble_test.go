package mumble_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/spacetui/spacetui/internal/mumbletest"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/mumble"
	"github.com/spacetui/spacetui/transport/transporttest"
)

// The contract suite against a real murmurd and the demo's three speakers, each a
// Mumble user of its own, with the cues typed into the channel's chat. The server's
// certificate is trusted first, so the suite sees a healthy room's two states only.
func TestContract(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the server and the publisher stop
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	s := mumbletest.StartT(t, mumbletest.Options{})
	mumbletest.PublishT(t, s, "Demo", mumbletest.PublishOptions{Description: "the <b>demo</b> room"})
	trustFirst(t, s.URL("Demo"))
	transporttest.Run(t, transporttest.Room{URL: s.URL("Demo"), Speakers: 3, Within: 60 * time.Second, Chat: true})
}

// Every string a hostile server controls (the channel's description, the users' names,
// the chat) reaches the room model cleaned and bounded.
func TestHostile(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	s := mumbletest.StartT(t, mumbletest.Options{})
	tracks := demoTracks(t)
	for i := range tracks {
		tracks[i].Name = transporttest.HostileShort(tracks[i].ID)
	}
	mumbletest.PublishT(t, s, "Hostile", mumbletest.PublishOptions{
		Description: transporttest.Hostile("title"), Speakers: tracks,
		Chat: func(cue string) string { return transporttest.Hostile("chat") + " " + cue },
	})
	transporttest.RunHostile(t, transporttest.HostileRoom{URL: s.URL("Hostile"), Opts: insecure(),
		Want: []string{"RoomInfo", "Roster", "TranscriptSegment"}, Within: 40 * time.Second})
}

// A wrong server password, and none, are permanent refusals told in one line that never
// quotes the password; the right one joins.
func TestPassword(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	s := mumbletest.StartT(t, mumbletest.Options{Password: "right-horse-battery"})
	for _, tt := range []struct{ token, want string }{
		{"wrong-staple-42", "refused the password"},
		{"", "needs a password (--token or $SPACETUI_TOKEN)"},
	} {
		err := runUntilEnd(t, s.URL(""), transport.DialOptions{Token: tt.token})
		if !errors.Is(err, transport.ErrUnauthorized) || !strings.Contains(err.Error(), tt.want) ||
			strings.Contains(err.Error(), "staple") || strings.Contains(err.Error(), "horse") || strings.Contains(err.Error(), "\n") {
			t.Errorf("token %q: %v; want one line with %q, unauthorized, no password", tt.token, err, tt.want)
		}
	}
	c := dial(t, s.URL(""), transport.DialOptions{Token: "right-horse-battery"})
	c.Close()
}

// Trust on first use: the first connection remembers the certificate and says so once;
// the next is quiet; a new certificate is refused, naming both fingerprints and how to
// accept it, permanently; --insecure joins anyway and says the check is off.
func TestCertificate(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	s := mumbletest.StartT(t, mumbletest.Options{})
	url := s.URL("")
	c := dial(t, url, transport.DialOptions{})
	if st, ok := firstEvent(t, c).(transport.State); !ok || !strings.Contains(st.Detail, "is now remembered in "+filepath.Join(state, "spacetui")) {
		t.Errorf("first connection: first event %#v, want a state saying the certificate is remembered", st)
	}
	c.Close()
	c = dial(t, url, transport.DialOptions{})
	if ev, ok := firstEvent(t, c).(transport.RoomInfo); !ok {
		t.Errorf("second connection: first event %#v, want the room", ev)
	}
	c.Close()

	if err := s.NewCertificate(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := runUntilEnd(t, url, transport.DialOptions{})
	var ce *mumble.CertChangedError
	if !errors.As(err, &ce) || !errors.Is(err, transport.ErrUnauthorized) || ce.Old == ce.New ||
		!strings.Contains(err.Error(), "--insecure") || !strings.Contains(err.Error(), ce.New[:8]) || !strings.Contains(err.Error(), ce.Old[:8]) {
		t.Fatalf("changed certificate: %v, want a permanent refusal naming both fingerprints and --insecure", err)
	}
	c = dial(t, url, insecure())
	if st, ok := firstEvent(t, c).(transport.State); !ok || !strings.Contains(st.Detail, "--insecure") {
		t.Errorf("--insecure: first event %#v, want a state saying the certificate is not checked", st)
	}
	c.Close()
}

// A full server (users=) is an overload, retried.
func TestServerFull(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	s := mumbletest.StartT(t, mumbletest.Options{Users: 3})
	mumbletest.PublishT(t, s, "Demo", mumbletest.PublishOptions{})

	_, err := transport.Dial(context.Background(), s.URL("Demo"), insecure())
	var oe *transport.OverloadError
	if !errors.As(err, &oe) {
		t.Errorf("full server: %v, want an overload", err)
	}
}

// A missing channel is not found, on a first join; a user name in use is retried, then
// taken with a suffix.
func TestChannelAndName(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	s := mumbletest.StartT(t, mumbletest.Options{})
	mumbletest.PublishT(t, s, "Demo", mumbletest.PublishOptions{})
	if _, err := transport.Dial(context.Background(), s.URL("Nowhere/Else"), insecure()); !errors.Is(err, transport.ErrNotFound) {
		t.Errorf("missing channel: %v, want not found", err)
	}
	// Ada is a speaker's name: a stale session of ours, as far as we can tell.
	taken := "mumble://Ada@" + s.Addr + "/Demo"
	for i := range 3 {
		_, err := transport.Dial(context.Background(), taken, insecure())
		if err == nil || errors.Is(err, transport.ErrUnauthorized) || !strings.Contains(err.Error(), `"Ada" is in use`) {
			t.Fatalf("attempt %d with a name in use: %v, want a retryable refusal", i+1, err)
		}
	}
	c := dial(t, taken, insecure())
	defer c.Close()
	for {
		if ro, ok := firstEvent(t, c).(transport.Roster); ok {
			if n := len(ro.Speakers); n != 3 {
				t.Errorf("joined as Ada-1 with %d speakers, want the 3 (Ada among them)", n)
			}
			return
		}
	}
}

// The server killed and restarted 2 s later: the listener returns by itself, hears every
// speaker again (they rejoin on their own), and its roster never empties meanwhile.
func TestServerRestart(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	s := mumbletest.StartT(t, mumbletest.Options{})
	mumbletest.PublishT(t, s, "Demo", mumbletest.PublishOptions{})
	var (
		mu        sync.Mutex
		restarted bool
		heard     = map[bool]map[string]int{false: {}, true: {}} // frames before and after the restart
		states    []string
		emptied   bool
		rosterSet bool
	)
	rc := &transport.Reconnector{URL: s.URL("Demo"), Policy: transport.DefaultPolicy(), Clock: transport.SystemClock{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- rc.Run(ctx, func(ev transport.Event) {
			mu.Lock()
			defer mu.Unlock()
			switch e := ev.(type) {
			case transport.AudioFrame:
				heard[restarted][e.Speaker]++
			case transport.State:
				states = append(states, string(e.State)+"/"+e.Reason)
			case transport.Roster:
				emptied = emptied || rosterSet && len(e.Speakers) == 0
				rosterSet = rosterSet || len(e.Speakers) > 0
			}
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	all := func(m map[string]int) bool {
		return len(m) == 3
	}
	if !waitFor(40*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return all(heard[false]) }) {
		t.Fatalf("before the restart heard %v", heard[false])
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	restarted = true
	mu.Unlock()
	killed := time.Now()
	time.Sleep(2 * time.Second)
	if err := s.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !waitFor(40*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return all(heard[true]) }) {
		t.Fatalf("after the restart heard %v; states %v", heard[true], states)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("all three speakers heard again %s after the kill; states %v", time.Since(killed).Round(100*time.Millisecond), states)
	if !slices.Contains(states, "reconnecting/dropped") || states[len(states)-1] != "live/" {
		t.Errorf("states %v, want a reconnect after the drop and live again", states)
	}
	if emptied {
		t.Error("the roster emptied during the restart")
	}
}

// waitFor polls cond every 100 ms until it holds (true) or d has passed (false).
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
