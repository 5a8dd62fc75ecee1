package transport

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestUnreachable(t *testing.T) {
	dial := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	tests := []struct {
		name string
		err  error
		want string // "" when it is not a failure to connect
	}{
		{"refused", dial(&os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}), "cannot reach h:1 (connection refused)"},
		{"no route", dial(&os.SyscallError{Syscall: "connect", Err: syscall.EHOSTUNREACH}), "cannot reach h:1 (no route to host)"},
		{"no such host", dial(&net.DNSError{Err: "no such host", Name: "h", IsNotFound: true}), "cannot reach h:1 (no such host)"},
		{"timed out", dial(&net.DNSError{Err: "i/o timeout", IsTimeout: true}), "cannot reach h:1 (i/o timeout)"},
		{"read, not dial", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, ""},
		{"other", errors.New("boom"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Unreachable("h:1", tt.err)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Unreachable(%v) = %v, want nil", tt.err, err)
			case tt.want != "" && (err == nil || err.Error() != tt.want || !errors.Is(err, tt.err)):
				t.Fatalf("Unreachable(%v) = %v, want %q wrapping it", tt.err, err, tt.want)
			}
		})
	}
}

// A server that never accepted us is not a lost connection: the reason says so, the
// detail names the address, and the policy keeps retrying as after a drop.
func TestReconnectUnreachable(t *testing.T) {
	refused := Unreachable("h:1", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED})
	clock, states, err := run(t, DefaultPolicy(), 0.999999, 5, func(int) (Conn, error) { return nil, refused })
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	rs := reconnecting(states)
	if len(rs) != 5 || len(clock.Waits()) != 5 {
		t.Fatalf("%d retries, waits %v: want 5 of each", len(rs), clock.Waits())
	}
	for _, s := range rs {
		if s.Reason != ReasonUnreachable || s.Detail != "cannot reach h:1 (connection refused)" {
			t.Fatalf("state %+v", s)
		}
	}
	if w := clock.Waits(); w[0] > DefaultPolicy().Base || w[4] > DefaultPolicy().DropCap {
		t.Fatalf("waits %v: want the drop backoff", w)
	}
}
