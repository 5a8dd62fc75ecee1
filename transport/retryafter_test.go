package transport

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"007", 7 * time.Second},
		{"600", MaxRetryAfter},
		{"99999999999999999999", MaxRetryAfter},
		// Not delay-seconds (RFC 9110: 1*DIGIT) and not a date: ignored.
		{"1.5", 0},
		{"5.5", 0},
		{"1e2", 0},
		{"+5", 0},
		{"-3", 0},
		{"Inf", 0},
		{"NaN", 0},
		{"0x10", 0},
		{"5 s", 0},
		{"٣", 0}, // a digit, but not an ASCII one
		{"junk", 0},
		{"Fri, 27 Nov 2026 12:00:30 GMT", 30 * time.Second},
		{"Fri, 27 Nov 2026 11:59:00 GMT", 0},
		{"Sat, 27 Nov 2027 12:00:00 GMT", MaxRetryAfter},
	}
	for _, tt := range tests {
		if got := ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	f.Add("120")
	f.Add("Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add("1e2")
	f.Add("+5")
	f.Add("Sunday, 06-Nov-94 08:49:37 GMT")
	now := time.Date(1994, 11, 6, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d := ParseRetryAfter(s, now)
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v out of range", s, d)
		}
		if d == 0 {
			return
		}
		v := strings.TrimSpace(s)
		if strings.Trim(v, "0123456789") == "" {
			return // delay-seconds
		}
		if _, err := http.ParseTime(v); err != nil {
			t.Fatalf("ParseRetryAfter(%q) = %v: neither digits nor an HTTP date", s, d)
		}
	})
}
