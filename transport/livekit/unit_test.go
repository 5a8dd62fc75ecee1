package livekit

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/spacetui/spacetui/transport"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func TestEndpoint(t *testing.T) {
	tests := []struct{ in, server, room string }{
		{"livekit://127.0.0.1:7880/demo", "ws://127.0.0.1:7880", "demo"},
		{"livekit+wss://lk.example.org/town-hall/", "wss://lk.example.org", "town-hall"},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.in)
		server, room, err := Endpoint(u)
		if err != nil || server != tt.server || room != tt.room {
			t.Errorf("Endpoint(%s) = %q, %q, %v; want %q, %q", tt.in, server, room, err, tt.server, tt.room)
		}
	}
	for _, bad := range []string{"livekit://127.0.0.1:7880", "livekit://h/a/b"} {
		u, _ := url.Parse(bad)
		if _, _, err := Endpoint(u); !errors.Is(err, transport.ErrNotFound) {
			t.Errorf("Endpoint(%s): %v, want a permanent not-found error", bad, err)
		}
	}
}

func TestListenerTokenMayOnlyListen(t *testing.T) {
	tok, err := ListenerToken("key", strings.Repeat("s", 32), "demo", "spacetui-1")
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.ParseAPIToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	_, grants, err := v.Verify(strings.Repeat("s", 32))
	if err != nil {
		t.Fatal(err)
	}
	g := grants.Video
	if !g.RoomJoin || g.Room != "demo" || !g.GetCanSubscribe() || g.GetCanPublish() || g.GetCanPublishData() {
		t.Errorf("grants %+v: want join+subscribe to demo only", g)
	}
	if grants.Identity != "spacetui-1" {
		t.Errorf("identity %q", grants.Identity)
	}
}

func TestClassifyJoin(t *testing.T) {
	tests := []struct {
		err  error
		want func(error) bool
	}{
		{errors.New("unauthorized: invalid token"), func(e error) bool { return errors.Is(e, transport.ErrUnauthorized) }},
		{errors.New("not found"), func(e error) bool { return errors.Is(e, transport.ErrNotFound) }},
		{errors.New("unavailable: could not find any available nodes"), isOverload},
		{fmt.Errorf("join: %w", lksdk.ErrCannotConnectSignal), isOverload}, // room full
		{errors.New(`Get "http://h/rtc/validate?version=2": dial tcp 127.0.0.1:7880: connect: connection refused`), func(e error) bool {
			return !isOverload(e) && !errors.Is(e, transport.ErrUnauthorized) && !errors.Is(e, transport.ErrNotFound) &&
				e.Error() == "join h: dial tcp 127.0.0.1:7880: connect: connection refused"
		}},
	}
	for _, tt := range tests {
		if got := classifyJoin(tt.err, "h", false); !tt.want(got) {
			t.Errorf("classifyJoin(%v) = %v (%T)", tt.err, got, got)
		}
	}
}

// A refused token is explained in words, not in the JWT library's (the server's answers
// as LiveKit v1.9.11 gives them).
func TestClassifyJoinSaysWhyTheTokenWasRefused(t *testing.T) {
	jwtTok, _ := ListenerToken("k", strings.Repeat("s", 32), "demo", "id")
	const invalid = "unauthorized: invalid token: "
	tests := []struct {
		answer string
		minted bool
		want   string
	}{
		{invalid + jwtTok + ", error: go-jose/go-jose: error in cryptographic primitive", true,
			"h: the API secret does not match the key (LiveKit refused the token): not authorized to join this room"},
		{invalid + jwtTok + ", error: go-jose/go-jose: error in cryptographic primitive", false,
			"h: the token is not signed with this server's secret (LiveKit refused it): not authorized to join this room"},
		{invalid + jwtTok + ", error: go-jose/go-jose/jwt: validation failed, token is expired (exp)", false,
			"h: the token has expired: not authorized to join this room"},
		{invalid + jwtTok + ", error: go-jose/go-jose/jwt: validation failed, token not valid yet (nbf)", false,
			"h: the token is not valid yet (is this machine's clock right?): not authorized to join this room"},
		{"unauthorized: invalid API key: k", true, "h: the server does not know the API key: not authorized to join this room"},
		{"unauthorized: invalid authorization token", false, "h: the token is not a LiveKit access token: not authorized to join this room"},
	}
	for _, tt := range tests {
		if got := classifyJoin(errors.New(tt.answer), "h", tt.minted).Error(); got != tt.want {
			t.Errorf("minted %v, %q:\n got %q\nwant %q", tt.minted, tt.answer, got, tt.want)
		}
	}
}

// The server quotes a refused token in its answer; it must not reach the user.
func TestClassifyJoinHidesTheToken(t *testing.T) {
	jwtTok, _ := ListenerToken("k", strings.Repeat("s", 32), "demo", "id")
	hide("plain-secret-token")
	for _, tok := range []string{jwtTok, "plain-secret-token"} {
		err := classifyJoin(errors.New("unauthorized: invalid token: "+tok+": signature is invalid"), "h", false)
		if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), tok[:12]) {
			t.Errorf("the token is in %q", err)
		}
		if !errors.Is(err, transport.ErrUnauthorized) {
			t.Errorf("%v: not classified as unauthorized", err)
		}
	}
	// Cut short by a length limit, a JWT is still recognized.
	if got := redact("x " + jwtTok[:40] + "…"); strings.Contains(got, jwtTok[:20]) {
		t.Errorf("a truncated token survived: %q", got)
	}
}

func isOverload(err error) bool {
	var oe *transport.OverloadError
	return errors.As(err, &oe)
}

func TestMapperKeepsRTPDifferences(t *testing.T) {
	m := newMapper(nil, t0)
	var tr track
	at := t0.Add(2 * time.Second) // the track starts 2 s into the room clock
	seq, ts := m.place("ada", &tr, 65534, 1_000_000, at)
	if seq != 0 || ts != 96000 {
		t.Fatalf("first packet: seq %d ts %d, want 0 and 96000 (2 s)", seq, ts)
	}
	// Wrap of the 16-bit sequence, a lost packet, then one reordered.
	for _, p := range []struct {
		seq     uint16
		rtpTS   uint32
		wantSeq uint32
		wantTS  uint32
	}{
		{65535, 1_000_960, 1, 96960},
		{1, 1_002_880, 3, 98880},  // 0 lost
		{0, 1_001_920, 2, 97920},  // 0 arrives late
		{2, 1_100_000, 4, 196000}, // after a silence (DTX): the timestamp jumps, seq does not
	} {
		s, ts := m.place("ada", &tr, p.seq, p.rtpTS, at)
		if s != p.wantSeq || ts != p.wantTS {
			t.Errorf("rtp seq %d: got %d/%d, want %d/%d", p.seq, s, ts, p.wantSeq, p.wantTS)
		}
	}
}

func TestMapperReplacedTrackContinues(t *testing.T) {
	m := newMapper(nil, t0)
	var old, repl track
	for i := range 10 {
		m.place("ada", &old, uint16(100+i), uint32(5000+960*i), t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	// The publisher rejoined 3 s later with a new track and new random bases.
	at := t0.Add(3 * time.Second)
	seq, ts := m.place("ada", &repl, 40000, 7, at)
	if seq != 10 {
		t.Errorf("replacement's first seq %d, want 10 (one past the old track)", seq)
	}
	if want := uint32(3 * sampleRate); ts != want {
		t.Errorf("replacement's first timestamp %d, want %d (its arrival)", ts, want)
	}
	// Another speaker's numbering is its own.
	var grace track
	if s, _ := m.place("grace", &grace, 9, 9, at); s != 0 {
		t.Errorf("grace's first seq %d, want 0", s)
	}
}

func TestMapperCarriesAcrossConns(t *testing.T) {
	m := newMapper(nil, t0)
	var tr track
	for i := range 5 {
		m.place("ada", &tr, uint16(i), uint32(960*i), t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	r := m.resume("spacetui-x")
	if r.Session != "spacetui-x" || r.Last["ada"] != 4 {
		t.Fatalf("resume %+v", r)
	}
	// A full rejoin 10 s later: same clock, sequence continued.
	later := t0.Add(10 * time.Second)
	m2 := newMapper(r, later)
	var tr2 track
	seq, ts := m2.place("ada", &tr2, 777, 123, later)
	if seq != 5 || ts != uint32(10*sampleRate) {
		t.Errorf("after rejoin: seq %d ts %d, want 5 and %d", seq, ts, 10*sampleRate)
	}
	if got := m2.offset(later); got != 10*time.Second {
		t.Errorf("offset %s, want 10s on the first conn's clock", got)
	}
}

// The SDK logs its join plans with the token in them: it must never reach a log.
func TestSDKLogsHaveNoTokens(t *testing.T) {
	var buf bytes.Buffer
	tok, err := ListenerToken("key", strings.Repeat("s", 32), "demo", "id")
	if err != nil {
		t.Fatal(err)
	}
	type plan struct{ Token string }
	h := &sdkHandler{next: slog.NewTextHandler(&buf, nil)}
	l := slog.New(h)
	l.Info("attempting join plan "+tok, "attempt", plan{Token: tok}, "token", tok)
	l.Info("a foreign token", "attempt", fmt.Sprintf("%+v", struct{ token string }{"not-a-jwt"}))
	l.With("ctx", tok).Warn("x")
	l.With("logger", "pion.ice").Info("chatter")
	l.With("logger", "pion.ice").Warn("pion warning")
	out := buf.String()
	if strings.Contains(out, tok) || strings.Contains(out, tok[:20]) {
		t.Errorf("a token reached the log:\n%s", out)
	}
	if strings.Count(out, "[token]") != 5 || strings.Contains(out, "not-a-jwt") {
		t.Errorf("want 5 redactions:\n%s", out)
	}
	if strings.Contains(out, "chatter") || !strings.Contains(out, "pion warning") {
		t.Errorf("pion below Warn must be dropped, Warn kept:\n%s", out)
	}
}

func TestSegmentOf(t *testing.T) {
	tests := []struct {
		attrs map[string]string
		id    string
		final bool
	}{
		{map[string]string{AttrSegmentID: "s1", AttrFinal: "true", AttrTranscribedTrack: "TR_1"}, "s1", true},
		{map[string]string{AttrSegmentID: "s1", AttrFinal: "1"}, "s1", true},
		{map[string]string{AttrSegmentID: "s1", AttrFinal: "false"}, "s1", false},
		{map[string]string{AttrFinal: "yes please"}, "stream-7", false},
		{nil, "stream-7", false},
	}
	for _, tt := range tests {
		id, final, _ := segmentOf(tt.attrs, "stream-7")
		if id != tt.id || final != tt.final {
			t.Errorf("segmentOf(%v) = %q, %v; want %q, %v", tt.attrs, id, final, tt.id, tt.final)
		}
	}
	if _, _, track := segmentOf(tests[0].attrs, ""); track != "TR_1" {
		t.Errorf("track %q", track)
	}
}

// The API key and secret are this protocol's options, and a room cannot be joined
// without them or a token: said at once, in the command line's words.
func TestCheck(t *testing.T) {
	u, _ := url.Parse("livekit://h:7880/demo")
	tests := []struct {
		opts transport.DialOptions
		want string
	}{
		{transport.DialOptions{Token: "t"}, ""},
		{transport.DialOptions{Params: map[string]string{OptAPIKey: "k", OptAPISecret: "s"}}, ""},
		{transport.DialOptions{}, "a LiveKit room needs --token (or $SPACETUI_TOKEN), or --api-key and --api-secret"},
		{transport.DialOptions{Token: "t", Params: map[string]string{OptAPIKey: "k"}}, "--api-key and --api-secret go together"},
		{transport.DialOptions{Params: map[string]string{OptAPISecret: "s"}}, "--api-key and --api-secret go together"},
	}
	var d dialer
	for _, tt := range tests {
		err := d.Check(u, tt.opts)
		if got := fmt.Sprint(err); tt.want == "" && err != nil || tt.want != "" && got != tt.want {
			t.Errorf("Check(%+v) = %v, want %q", tt.opts, err, tt.want)
		}
	}
	var secret []string
	for _, o := range d.Options() {
		if o.Secret {
			secret = append(secret, o.Name+"="+o.Env)
		}
	}
	if fmt.Sprint(secret) != "[api-secret=LIVEKIT_API_SECRET]" {
		t.Errorf("secret options %v", secret)
	}
}

// Captions are timed from the speech they transcribe, not from when their text
// arrives (a second or more into the speech).
func TestCaptionClock(t *testing.T) {
	cc := newCaptionClock()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	speech, silence := make([]byte, 60), []byte{0xf8, 0xff, 0xfe}
	// play feeds ada's packets every 20 ms over [from, to).
	play := func(from, to int, pkt []byte) {
		for at := from; at < to; at += 20 {
			cc.heard("ada", ms(at), pkt)
		}
	}
	check := func(what, id string, final bool, now, wantStart, wantEnd int) {
		t.Helper()
		start, end := cc.place(id, "ada", final, ms(now))
		if start != ms(wantStart) || end != ms(wantEnd) {
			t.Errorf("%s: %v-%v, want %v-%v", what, start, end, ms(wantStart), ms(wantEnd))
		}
	}
	// Joined mid-sentence: the final starts with the first speech heard, not at its end.
	play(0, 1500, speech)
	check("a cue running at join", "s0", true, 1600, 0, 1480)
	play(1500, 3000, silence)
	// Speech at 3 s, its first partial 1.2 s later, then the final after the speech.
	play(3000, 4200, speech)
	check("first partial", "s1", false, 4200, 3000, 4180)
	play(4200, 6000, speech)
	play(6000, 6100, silence)
	check("final", "s1", true, 6100, 3000, 5980)
	// Speech right after the final is the next caption's.
	play(6100, 8000, speech)
	check("the next caption, without a pause", "s2", true, 8000, 6100, 7980)
	// A cough, a long pause, then speech: the caption starts with the speech.
	play(8000, 9000, silence)
	play(9000, 9020, speech)
	play(9020, 11000, silence)
	play(11000, 12000, speech)
	check("after a pause", "s3", true, 12500, 11000, 11980)
	// Background noise as full packets: at most captionLead before the text.
	play(12500, 40000, speech)
	check("noise", "s4", false, 40000, 40000-int(captionLead/time.Millisecond), 39980)
	// A speaker never heard is timed by arrival.
	if start, end := cc.place("g1", "grace", true, ms(500)); start != ms(500) || end != ms(500) {
		t.Errorf("a speaker never heard: %v-%v, want 500ms-500ms", start, end)
	}
}
