package mumble_test

import (
	"context"
	"testing"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// trustFirst joins url once, so that its certificate is remembered, and leaves.
func trustFirst(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, url, transport.DialOptions{})
	if err != nil {
		t.Fatalf("first join: %v", err)
	}
	c.Close()
}
