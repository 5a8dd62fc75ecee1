package transcript

import (
	"regexp"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// link is a URL in a caption: its byte span in the caption text.
type link struct {
	start, end int
	url        string
}

// urlRE finds web addresses in caption text. The text was cleaned where it entered, so
// it holds no escape sequences; the hyperlinks drawn are the client's own (OSC 8), made
// from the address it shows and nothing else the server sent.
var urlRE = regexp.MustCompile(`https?://[^\s<>"'` + "`" + `]+`)

// findLinks returns the URLs in text, without the punctuation that ends a sentence.
func findLinks(text string) []link {
	if !strings.Contains(text, "://") {
		return nil
	}
	var out []link
	for _, span := range urlRE.FindAllStringIndex(text, -1) {
		end := span[1]
		for end > span[0] && strings.ContainsRune(".,;:!?)]}", rune(text[end-1])) {
			end--
		}
		if end-span[0] > len("https://") {
			out = append(out, link{start: span[0], end: end, url: text[span[0]:end]})
		}
	}
	return out
}

// linkify renders the line l, which starts at byte offset at of the caption, with the
// parts inside links made OSC 8 hyperlinks to the whole URL.
func linkify(l string, at int, links []link, style lipgloss.Style) string {
	var b strings.Builder
	i := 0 // in l
	for _, k := range links {
		s, e := max(k.start-at, i), min(k.end-at, len(l))
		if s >= e {
			continue
		}
		b.WriteString(style.Render(l[i:s]))
		b.WriteString(ansi.SetHyperlink(k.url) + style.Render(l[s:e]) + ansi.ResetHyperlink())
		i = e
	}
	b.WriteString(style.Render(l[i:]))
	return b.String()
}
