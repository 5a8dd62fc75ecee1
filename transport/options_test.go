package transport

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"
)

// optDialer is a protocol with options of its own, registered for two schemes.
type optDialer struct{}

func (optDialer) Dial(context.Context, *url.URL, DialOptions) (Conn, error) {
	return nil, errors.New("not dialed in this test")
}

func (optDialer) Options() []Option {
	return []Option{{Name: "zeta", Usage: "z"}, {Name: "alpha", Env: "OPTTEST_ALPHA", Usage: "a", Secret: true}}
}

func (optDialer) Check(u *url.URL, o DialOptions) error {
	if o.Params["alpha"] == "" {
		return errors.New(u.Scheme + " needs --alpha")
	}
	return nil
}

var _ Configurable = optDialer{}

func init() {
	Register("opttest", optDialer{})
	Register("opttest+tls", optDialer{})
	Register("plaintest", DialerFunc(optDialer{}.Dial))
}

func TestOptions(t *testing.T) {
	var names []string
	for _, o := range Options() {
		names = append(names, o.Name)
	}
	if !slices.Equal(names, []string{"alpha", "zeta"}) {
		t.Fatalf("Options() = %v, want each option once, sorted", names)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		url     string
		params  map[string]string
		wantErr string
	}{
		{"opttest://h/r", nil, "opttest needs --alpha"},
		{"opttest+tls://h/r", map[string]string{"alpha": "x"}, ""},
		{"plaintest://h/r", nil, ""}, // takes no options: nothing to check
		{"nosuch://h/r", nil, `unsupported URL scheme: "nosuch"`},
	}
	for _, tt := range tests {
		err := Check(tt.url, DialOptions{Params: tt.params})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("Check(%s): %v", tt.url, err)
		case tt.wantErr != "" && (err == nil || len(err.Error()) < len(tt.wantErr) || err.Error()[:len(tt.wantErr)] != tt.wantErr):
			t.Errorf("Check(%s) = %v, want %q", tt.url, err, tt.wantErr)
		}
	}
}
