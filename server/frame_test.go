package server

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// The frames the room makes once for every listener, written in one batch straight to
// the socket, are read by a WebSocket client as the messages they carry, at every size
// of the length field; the library's own close handshake still works on the same
// connection afterwards.
func TestFramesReadByAWebSocketClient(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 0xFFFF, 0x10000}
	var msgs []message
	for i, n := range sizes {
		msgs = append(msgs, newMessage(i%2 == 0, bytes.Repeat([]byte{byte('a' + i)}, n), int64(i)))
	}
	handled := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hw := &hijackWriter{ResponseWriter: w}
		c, err := websocket.Accept(hw, req, nil)
		if err != nil {
			handled <- err
			return
		}
		var batch []byte
		for _, m := range msgs {
			batch = append(batch, m.frame...)
		}
		if _, err := hw.conn.Write(batch); err != nil {
			handled <- err
			return
		}
		handled <- c.Close(websocket.StatusNormalClosure, "done")
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	for i, m := range msgs {
		typ, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("message %d (%d bytes): %v", i, sizes[i], err)
		}
		if want := map[bool]websocket.MessageType{true: websocket.MessageBinary, false: websocket.MessageText}[m.binary]; typ != want || !bytes.Equal(data, m.data) {
			t.Errorf("message %d: %v of %d bytes, want %v of %d", i, typ, len(data), want, sizes[i])
		}
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after the messages: %v, want the server's normal closure", err)
	}
	if err := <-handled; err != nil {
		t.Errorf("server side: %v", err)
	}
}
