package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/mumbletest"
)

// lockedBuilder is a strings.Builder safe to write from run and read from the test.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The demo starts a server, fills the channel and prints the line that joins it.
func TestDemoPrintsJoinLine(t *testing.T) {
	mumbletest.NeedBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out lockedBuilder
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-port", strconv.Itoa(port)}, &out, &lockedBuilder{}) }()
	want := "spacetui join mumble://127.0.0.1:" + strconv.Itoa(port) + "/Demo"
	for !strings.Contains(out.String(), want) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil || !strings.Contains(out.String(), want) {
		t.Fatalf("run: %v; output %q, want %q", err, out.String(), want)
	}
}
