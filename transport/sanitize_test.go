package transport

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "Ada Lovelace", 0, "Ada Lovelace"},
		{"csi colour", "\x1b[31mred\x1b[0m text", 0, "red text"},
		{"osc title bel", "a\x1b]0;pwned\x07b", 0, "ab"},
		{"osc hyperlink st", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", 0, "link"},
		{"dcs", "x\x1bPq#0;2;0;0;0\x1b\\y", 0, "xy"},
		{"c0 and del", "a\x00b\x07c\x7fd", 0, "abcd"},
		{"c1 csi takes its parameters", "a\u009b31mb", 0, "ab"},
		{"c1 csi as a bare byte", "a\x9b2Jb", 0, "ab"},
		{"c1 csi unterminated", "a\u009b31", 0, "a"},
		{"c1 osc", "a\u009d0;pwned\u009cb", 0, "ab"},
		{"c1 osc bel", "a\u009d8;;http://x\x07b", 0, "ab"},
		{"c1 dcs st", "a\u0090q#0\x1b\\b", 0, "ab"},
		{"other c1 alone", "a\u0084b", 0, "ab"},
		{"bidi override", "abc\u202edcba\u202c", 0, "abcdcba"},
		{"isolates", "\u2066x\u2069", 0, "x"},
		{"newlines fold", "line one\r\nline\ttwo\n", 0, "line one line two"},
		{"leading space", "   x", 0, "x"},
		{"invalid utf8", "a\xff\xfeb", 0, "ab"},
		{"truncate", "abcdefghij", 5, "abcd…"},
		{"exact fit", "abcde", 5, "abcde"},
		{"unicode kept", "Grâce 日本 🎙", 0, "Grâce 日本 🎙"},
		{"escape at end", "abc\x1b", 0, "abc"},
		{"unterminated csi", "abc\x1b[31", 0, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in, tt.max); got != tt.want {
				t.Fatalf("Sanitize(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"\x1b[2J\x1b[H", "a\u202eb", "\x9b1;1H", "ok", "\x1b]52;c;aGk=\x07"} {
		f.Add(s, 10)
	}
	for _, s := range []string{"a b", " a", "a ", "a  b", "a\u00a0b", "abcde", "\ufffd", "\xff"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max %= 1000
		if max < 0 {
			max = -max
		}
		got := Sanitize(s, max)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out: %q", got)
		}
		if max > 0 && utf8.RuneCountInString(got) > max {
			t.Fatalf("%d runes, max %d", utf8.RuneCountInString(got), max)
		}
		for _, r := range got {
			if r == 0x1b || r < 0x20 || (r >= 0x7f && r <= 0x9f) || isBidiControl(r) || (!unicode.IsPrint(r) && r != ' ') {
				t.Fatalf("control rune %U survived in %q", r, got)
			}
		}
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") {
			t.Fatalf("untrimmed: %q", got)
		}
		if Sanitize(got, max) != got || !isClean(got, max) {
			t.Fatalf("not idempotent: %q", got)
		}
		if isClean(s, max) && sanitize(s, max) != s {
			t.Fatalf("taken as clean, but cleaning changes it: %q -> %q", s, sanitize(s, max))
		}
	})
}

// A clean string comes back as it is, without allocating: every audio frame's speaker
// ID is cleaned.
func TestSanitizeCleanDoesNotAllocate(t *testing.T) {
	for _, s := range []string{"ada", "Grâce Hopper", "日本 🎙"} {
		if n := testing.AllocsPerRun(100, func() { _ = Sanitize(s, MaxNameRunes) }); n != 0 {
			t.Errorf("Sanitize(%q): %v allocations", s, n)
		}
	}
}
