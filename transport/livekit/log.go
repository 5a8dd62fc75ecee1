package livekit

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

// pion, which the SDK drives, logs only through the SDK's process-wide logger: the SDK
// builds each peer connection's LoggerFactory from it, and lksdk.WithLogger, which Dial
// gives each connection for everything else, does not reach it. So Dial has to call
// lksdk.SetLogger, and does so once, with the first connection's logger: the SDK reads
// that variable from its own goroutines without a lock, so setting it on every Dial
// would race with the connections already up. A process joins one room (the load tester
// aside, whose connections share one logger), so this is the connection's logger too.
var pionOnce sync.Once

// routePion points pion's logs at l, on the first call only.
func routePion(l *slog.Logger) {
	pionOnce.Do(func() { lksdk.SetLogger(SDKLogger(l)) })
}

// SDKLogger adapts l for the SDK (lksdk.SetLogger, WithLogger, a track's SetLogger),
// never the terminal: the SDK's own decisions (joins, resumes) are kept at Info, pion's
// chatter below Warn is dropped, and tokens are redacted, as the SDK logs them in its
// join plans.
func SDKLogger(l *slog.Logger) protologger.Logger {
	return protologger.LogRLogger(logr.FromSlogHandler(&sdkHandler{next: l.Handler()}))
}

// jwt matches a JSON Web Token, or what is left of one cut short: base64url parts
// joined by dots, the first a JSON header ("eyJ" is `{"` encoded).
var jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)*`)

// tokenField matches the token field of the SDK's join plans, printed with %+v.
var tokenField = regexp.MustCompile(`token:[^ }]+`)

// secrets are the credentials this process was given (tokens that need not look like
// JWTs, API secrets): redact cuts them out wherever they appear.
var secrets struct {
	sync.RWMutex
	list []string
}

// hide registers a credential for redaction; short strings would cut words, not
// secrets, and are left alone.
func hide(s string) {
	if len(s) < 8 {
		return
	}
	secrets.Lock()
	defer secrets.Unlock()
	if !slices.Contains(secrets.list, s) {
		secrets.list = append(secrets.list, s)
	}
}

func redact(s string) string {
	secrets.RLock()
	for _, x := range secrets.list {
		s = strings.ReplaceAll(s, x, "[token]")
	}
	secrets.RUnlock()
	s = tokenField.ReplaceAllString(s, "token:[token]")
	return jwt.ReplaceAllString(s, "[token]")
}

// sdkHandler filters and redacts the SDK's log records on their way to next.
type sdkHandler struct {
	next slog.Handler
	pion bool // the records come from one of pion's loggers
}

func (h *sdkHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo && h.next.Enabled(ctx, l)
}

func (h *sdkHandler) Handle(ctx context.Context, r slog.Record) error {
	pion := h.pion
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "logger" && strings.HasPrefix(a.Value.String(), "pion") {
			pion = true
		}
		attrs = append(attrs, redactAttr(a))
		return true
	})
	if pion && r.Level < slog.LevelWarn {
		return nil
	}
	out := slog.NewRecord(r.Time, r.Level, redact(r.Message), r.PC)
	out.AddAttrs(attrs...)
	return h.next.Handle(ctx, out)
}

func (h *sdkHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := &sdkHandler{next: h.next, pion: h.pion}
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		if a.Key == "logger" && strings.HasPrefix(a.Value.String(), "pion") {
			c.pion = true
		}
		red[i] = redactAttr(a)
	}
	c.next = h.next.WithAttrs(red)
	return c
}

func (h *sdkHandler) WithGroup(name string) slog.Handler {
	return &sdkHandler{next: h.next.WithGroup(name), pion: h.pion}
}

// redactAttr flattens a value to text so that a token inside a struct is found too.
func redactAttr(a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, redact(a.Value.String()))
	case slog.KindAny:
		return slog.String(a.Key, redact(fmt.Sprintf("%+v", a.Value.Any())))
	case slog.KindGroup:
		g := a.Value.Group()
		out := make([]any, len(g))
		for i, x := range g {
			out[i] = redactAttr(x)
		}
		return slog.Group(a.Key, out...)
	}
	return a
}
