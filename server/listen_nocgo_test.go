//go:build !cgo

package server

import (
	"net/http"
	"testing"
)

func TestListenOggNeedsCgo(t *testing.T) {
	ts := startServer(t, Config{Clock: newFakeClock()}, nil)
	resp, err := http.Get("http://" + ts.addr + "/rooms/demo/listen.ogg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("listen.ogg without cgo: %s", resp.Status)
	}
}
