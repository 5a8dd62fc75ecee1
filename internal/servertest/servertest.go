// Package servertest runs the reference room server in the test's own process, for the
// tests of clients that need a real server of our protocol but not a separate binary.
package servertest

import (
	"context"
	"net"
	"testing"

	"github.com/spacetui/spacetui/server"
)

// Start runs a server made from cfg on a free loopback port until the test ends, and
// returns its host:port. Serve's error at the end fails the test.
func Start(t testing.TB, cfg server.Config) string {
	t.Helper()
	srv, err := server.New(cfg)
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
	return ln.Addr().String()
}
