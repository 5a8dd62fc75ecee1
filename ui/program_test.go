package ui

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/spacetui/spacetui/transport"
)

// syncBuffer is the program's output, written by the renderer and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProgramRuns runs the model in a real Bubble Tea program: events arrive through the
// channel, the tick polls Playback, and closing the channel ends the program.
func TestProgramRuns(t *testing.T) {
	ch := make(chan transport.Event)
	pb := newPlayback()
	m := New(Options{Events: ch, Playback: pb})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out syncBuffer
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(nil), tea.WithOutput(&out),
		tea.WithWindowSize(80, 24), tea.WithoutSignalHandler())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	for _, ev := range room() {
		ch <- ev
	}
	time.Sleep(3 * TickInterval) // let a few ticks redraw
	close(ch)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("program: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the program did not end when Events was closed")
	}
	if s := out.String(); !strings.Contains(s, "Keeping rooms alive") {
		t.Errorf("the program never drew the room title; output %q", s)
	}
}
