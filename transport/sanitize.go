package transport

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize makes a string from the network safe to show on a terminal, write to a log or
// put in a JSON line. It removes, rather than escapes, terminal control sequences (ESC and
// the whole sequence it introduces), C0 and C1 control characters, bidirectional
// overrides and isolates, other non-printing runes and invalid UTF-8; it collapses runs of
// white space to one space and trims; and it truncates to max runes (0: no limit), ending
// a truncated string with an ellipsis.
func Sanitize(s string, max int) string {
	if isClean(s, max) {
		return s
	}
	return sanitize(s, max)
}

func sanitize(s string, max int) string {
	kept := make([]rune, 0, min(len(s), 1024))
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch c := c1(r, s[i-size]); {
		case r == 0x1b:
			i += escapeLen(s[i:])
		case c == 0x9b: // CSI
			i += csiLen(s[i:])
		case c == 0x90, c == 0x98, c == 0x9d, c == 0x9e, c == 0x9f: // DCS, SOS, OSC, PM, APC
			i += stringLen(s[i:])
		case unicode.IsSpace(r):
			space = len(kept) > 0
		case r == utf8.RuneError && size <= 1, !unicode.IsPrint(r), isBidiControl(r):
			// Dropped: invalid UTF-8, C0/C1 controls, format characters, bidi controls.
		default:
			if space {
				kept = append(kept, ' ')
				space = false
			}
			kept = append(kept, r)
		}
		if max > 0 && len(kept) > max {
			kept = append(kept[:max-1], '…')
			break
		}
	}
	return strings.TrimRight(string(kept), " ")
}

// isClean reports whether Sanitize(s, max) would return s unchanged: every rune printable
// and kept, single spaces between words only, no more than max runes. It lets Sanitize
// return a clean string, the usual case, without allocating.
func isClean(s string, max int) bool {
	n := 0
	space := true // a leading space is not clean
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
		switch {
		case r == ' ':
			if space {
				return false
			}
			space = true
		case unicode.IsSpace(r), r == utf8.RuneError && size <= 1, !unicode.IsPrint(r), isBidiControl(r):
			return false
		default:
			space = false
		}
	}
	return (n == 0 || !space) && (max <= 0 || n <= max)
}

// escapeLen returns how many bytes after an ESC belong to the sequence it starts: a CSI
// (ESC [ ... final byte), a string (OSC, DCS, APC, PM, SOS: up to BEL or ST), or a
// single following character.
func escapeLen(s string) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case '[':
		return 1 + csiLen(s[1:])
	case ']', 'P', '_', '^', 'X':
		return 1 + stringLen(s[1:])
	}
	_, size := utf8.DecodeRuneInString(s)
	return size
}

// csiLen returns how many bytes of s are a control sequence's parameters and final byte.
func csiLen(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x40 && s[i] <= 0x7e {
			return i + 1
		}
	}
	return len(s)
}

// stringLen returns how many bytes of s are a control string and its terminator: BEL,
// or ST as ESC \ or as U+009C. (A bare 0x9c byte may be part of a character, so it
// ends nothing: the string runs on, and more is removed rather than less.)
func stringLen(s string) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == 0x07:
			return i + 1
		case s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\':
			return i + 2
		case strings.HasPrefix(s[i:], "\u009c"):
			return i + len("\u009c")
		}
	}
	return len(s)
}

// c1 returns the C1 control (0x80-0x9f) that a rune is, whether it came as UTF-8
// (U+0080-U+009F) or as the bare byte b, which is invalid UTF-8 but which a terminal
// in an 8-bit mode obeys; else 0. A stripped control must take its parameters with it,
// or they are left on the screen.
func c1(r rune, b byte) rune {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return r
	case r == utf8.RuneError && b >= 0x80 && b <= 0x9f:
		return rune(b)
	}
	return 0
}

// isBidiControl reports the explicit directional formatting characters, which can make
// text display in a different order than it is logged (Trojan Source, CVE-2021-42574).
// unicode.IsPrint already rejects most of them; this keeps the rule explicit.
func isBidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 ||
		r == 0x200e || r == 0x200f || r == 0x061c
}
