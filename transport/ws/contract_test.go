package ws_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/spacetui/spacetui/server"
	"github.com/spacetui/spacetui/transport/transporttest"
	_ "github.com/spacetui/spacetui/transport/ws"
)

// TestContract runs the transport contract against the reference server's demo room,
// in which Ada and Grace speak within the first ten seconds.
func TestContract(t *testing.T) {
	srv, err := server.New(server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	transporttest.Run(t, transporttest.Room{
		URL:      "ws://" + ln.Addr().String() + "/rooms/demo",
		Speakers: 2,
		Within:   30 * time.Second,
	})
}
