package transcript

import (
	"fmt"
	"strings"
	"testing"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/ui/common"
	"github.com/spacetui/spacetui/ui/styles"
)

func newModel() *Model {
	m := New(common.Common{Styles: styles.New(true), Speakers: common.NewDirectory()})
	m.SetSize(60, 12) // 10 lines of content
	return m
}

func add(m *Model, from, to int) {
	for i := from; i < to; i++ {
		m.Add(transport.TranscriptSegment{ID: fmt.Sprint(i), Speaker: "s", Text: fmt.Sprintf("seg %03d", i), Final: true})
	}
}

func firstSeg(view string) string {
	for l := range strings.SplitSeq(view, "\n") {
		if i := strings.Index(l, "seg "); i >= 0 {
			return l[i : i+7]
		}
	}
	return ""
}

func TestAnchorSurvivesTrimming(t *testing.T) {
	m := newModel()
	m.SetMaxEntries(50)
	add(m, 0, 50)
	m.PageUp() // top was line 40; now 31
	if got := firstSeg(m.View()); got != "seg 031" {
		t.Fatalf("after PgUp the first line is %q, want seg 031", got)
	}
	add(m, 50, 60) // drops seg 000..009
	if got := firstSeg(m.View()); got != "seg 031" {
		t.Errorf("after trimming the first line is %q, want seg 031", got)
	}
	if m.Following() {
		t.Error("following after new segments")
	}
	add(m, 60, 100) // drops the anchored segment itself
	if got := firstSeg(m.View()); got != "seg 050" {
		t.Errorf("once the anchor is dropped the view shows %q, want the oldest held, seg 050", got)
	}
	m.End()
	if got := firstSeg(m.View()); got != "seg 090" {
		t.Errorf("End shows %q first, want seg 090", got)
	}
}

func TestShortTranscriptDoesNotScroll(t *testing.T) {
	m := newModel()
	add(m, 0, 3)
	m.PageUp()
	m.Home()
	m.LineUp()
	if !m.Following() {
		t.Error("a transcript shorter than the pane stopped following")
	}
}

func TestGapMarker(t *testing.T) {
	m := newModel()
	m.AddGap(Gap{At: -1, Seconds: 2.5, Why: "restart"})
	if v := m.View(); !strings.Contains(v, "2.5 s of audio lost (restart)") {
		t.Errorf("gap marker missing:\n%s", v)
	}
}

// A chat message is marked as such; a caption is not.
func TestChatMarker(t *testing.T) {
	m := newModel()
	m.Add(transport.TranscriptSegment{ID: "m1", Speaker: "s", Text: "typed hello", Final: true, Chat: true})
	m.Add(transport.TranscriptSegment{ID: "c1", Speaker: "s", Text: "said hello", Final: true})
	v := m.View()
	if !strings.Contains(v, "[chat] typed hello") || strings.Contains(v, "[chat] said") {
		t.Errorf("want the chat message marked and the caption not:\n%s", v)
	}
}

// BenchmarkPartialUpdate is the hot path: a growing partial at the end of a full history,
// rendered after each update.
func BenchmarkPartialUpdate(b *testing.B) {
	m := newModel()
	m.SetSize(80, 22)
	for i := range DefaultMaxEntries {
		m.Add(transport.TranscriptSegment{ID: fmt.Sprint(i), Speaker: "s",
			Text: strings.Repeat("words of a caption ", 8), Final: true})
	}
	m.View()
	b.ResetTimer()
	for i := range b.N {
		m.Add(transport.TranscriptSegment{ID: "p", Speaker: "s", Text: strings.Repeat("w ", i%50)})
		m.View()
	}
}
