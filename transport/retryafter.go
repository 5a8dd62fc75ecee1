package transport

import (
	"net/http"
	"strings"
	"time"
)

// MaxRetryAfter clamps a server's Retry-After hint: a garbage or hostile value never
// parks a client for longer than this.
const MaxRetryAfter = 10 * time.Minute

// ParseRetryAfter reads an HTTP Retry-After value relative to now, strictly as RFC 9110
// (section 10.2.3) defines it: delay-seconds, one or more ASCII digits, or an HTTP date.
// Anything else (a sign, a fraction, an exponent, "Inf") gives 0, as do past dates; values
// over MaxRetryAfter give MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, ok := delaySeconds(v); ok {
		return min(secs, MaxRetryAfter)
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter)
}

// delaySeconds parses 1*DIGIT, saturating at MaxRetryAfter rather than overflowing.
func delaySeconds(v string) (time.Duration, bool) {
	var d time.Duration
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d = min(d*10+time.Duration(c-'0')*time.Second, MaxRetryAfter)
	}
	return d, true
}
