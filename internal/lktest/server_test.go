package lktest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServersSideBySide starts two servers at once: each on its own ports, each
// answering; stopping is idempotent.
func TestServersSideBySide(t *testing.T) {
	a := StartT(t, Options{})
	b := StartT(t, Options{APIKey: "other", APISecret: strings.Repeat("s", 32)})
	if a.Port == b.Port || a.URL == b.URL {
		t.Errorf("both on port %d", a.Port)
	}
	if b.APIKey != "other" || len(a.APISecret) < 32 {
		t.Errorf("keys %q/%d chars, %q", a.APIKey, len(a.APISecret), b.APIKey)
	}
	if got, want := a.RoomURL("demo"), "livekit://127.0.0.1:"+a.URL[len("ws://127.0.0.1:"):]+"/demo"; got != want {
		t.Errorf("RoomURL = %q, want %q", got, want)
	}
	// A fixed port already taken is an error, not a server silently not started.
	if _, err := Start(context.Background(), Options{Binary: NeedBinary(t), Port: a.Port}); err == nil {
		t.Error("started on a port in use")
	}
	for _, s := range []*Server{a, b} {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
		if err := s.Kill(); err != nil {
			t.Error(err)
		}
	}
}

func TestConfig(t *testing.T) {
	got := string(config(ports{signal: 7880, tcp: 7881, udpFirst: 20000, udpEnd: 20059}, "key", "secret", 7))
	for _, want := range []string{
		"port: 7880\n", "bind_addresses: [\"127.0.0.1\"]\n", "  tcp_port: 7881\n",
		"  port_range_start: 20000\n", "  port_range_end: 20059\n", "  node_ip: 127.0.0.1\n",
		"  use_external_ip: false\n", "keys:\n  \"key\": \"secret\"\n", "room:\n  max_participants: 7\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(config(ports{}, "k", "s", 0)), "max_participants") {
		t.Error("max_participants written without a limit")
	}
}

func TestBinaryFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "livekit")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvBinary, fake)
	if got, err := Binary(); err != nil || got != fake {
		t.Errorf("Binary() = %q, %v; want %q", got, err, fake)
	}
	t.Setenv(EnvBinary, filepath.Join(dir, "missing"))
	if _, err := Binary(); err == nil {
		t.Error("a missing $" + EnvBinary + " was accepted")
	}
	// Nothing anywhere: the error says how to install one.
	t.Setenv(EnvBinary, "")
	t.Setenv("PATH", dir)
	t.Setenv("GOBIN", dir)
	if _, err := os.Stat("/usr/local/bin/livekit-server"); err == nil {
		t.Skip("/usr/local/bin/livekit-server exists")
	}
	if _, err := Binary(); !errors.Is(err, ErrNoBinary) || !strings.Contains(err.Error(), "setup.sh --livekit") {
		t.Errorf("no server anywhere: %v", err)
	}
}
