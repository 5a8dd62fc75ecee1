package transport

import (
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
		{"1.5", 1500 * time.Millisecond},
		{"-3", 0},
		{"0", 0},
		{"NaN", 0},
		{"Inf", MaxRetryAfter},
		{"99999999999999999999", MaxRetryAfter},
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
	f.Fuzz(func(t *testing.T, s string) {
		if d := ParseRetryAfter(s, time.Now()); d < 0 || d > MaxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v out of range", s, d)
		}
	})
}
