package common

import (
	"strings"
	"unicode/utf8"
)

// Reduce rewrites the emoji sequences whose width terminals disagree on into text every
// terminal draws at the width Lip Gloss measures. Lip Gloss measures a grapheme cluster
// as one emoji, 2 cells; a terminal that draws code point by code point (tmux 3.3, many
// others) draws a skin-toned thumb as two emoji, a ZWJ family as three, and a flag as two
// letters of 2 cells each, and every border after it moves. So:
//
//   - skin tone modifiers, variation selectors and emoji tag characters are dropped
//     ("👍🏽" -> "👍", "❤️" -> "❤");
//   - a ZWJ sequence keeps its first emoji ("👨‍👩‍👧" -> "👨");
//   - a flag (a pair of regional indicators) becomes its two letters ("🇺🇸" -> "US").
//
// Every code point left is then measured alike by both kinds of terminal; no width is
// hard-coded for one of them. Text without such sequences is returned as it is, without
// allocating. The UI reduces what it draws; what it saves or records keeps the original.
func Reduce(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == zwj || dropped(r) || regional(r) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	prevEmoji := i > 0 && pictographic(lastRune(s[:i]))
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case dropped(r):
			continue
		case r == zwj && prevEmoji:
			// Skip the joined emoji and whatever modifies it; the first one stands for
			// the whole sequence.
			if i < len(s) {
				_, m := utf8.DecodeRuneInString(s[i:])
				i += m
			}
			continue
		case regional(r):
			b.WriteByte(byte('A' + r - riA))
			if i < len(s) {
				if r2, m := utf8.DecodeRuneInString(s[i:]); regional(r2) {
					b.WriteByte(byte('A' + r2 - riA))
					i += m
				}
			}
			prevEmoji = false
			continue
		}
		b.WriteRune(r)
		prevEmoji = pictographic(r)
	}
	return b.String()
}

const (
	zwj = '\u200d'
	riA = '\U0001F1E6' // REGIONAL INDICATOR SYMBOL LETTER A
)

// dropped reports the modifiers Reduce removes: variation selectors, skin tones, tags.
func dropped(r rune) bool {
	return r == '\ufe0f' || r == '\ufe0e' ||
		(r >= '\U0001F3FB' && r <= '\U0001F3FF') ||
		(r >= '\U000E0020' && r <= '\U000E007F')
}

func regional(r rune) bool { return r >= riA && r <= '\U0001F1FF' }

// pictographic approximates Extended_Pictographic: enough to tell an emoji ZWJ sequence
// from a ZWJ that shapes a script (Indic, Arabic), which must stay.
func pictographic(r rune) bool {
	return (r >= '\U0001F000' && r <= '\U0001FAFF') ||
		(r >= '\u2190' && r <= '\u2BFF') ||
		r == '\u00a9' || r == '\u00ae' || r == '\u203c' || r == '\u2049' || r == '\u2122'
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}
