package transport

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter clamps a server's Retry-After hint: a garbage or hostile value never
// parks a client for longer than this.
const MaxRetryAfter = 10 * time.Minute

// ParseRetryAfter reads an HTTP Retry-After value in either form (delay-seconds or an
// HTTP date) relative to now. Garbage, negative values and past dates give 0; values over
// MaxRetryAfter give MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs != secs || secs <= 0 { // NaN or not positive
			return 0
		}
		if secs >= MaxRetryAfter.Seconds() {
			return MaxRetryAfter
		}
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}
