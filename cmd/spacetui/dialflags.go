package main

import (
	"errors"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/spacetui/spacetui/transport"
)

// dialFlags are the connection settings join and record share: the credential, and the
// options of the protocol the room URL names.
type dialFlags struct {
	token     string
	apiKey    string
	apiSecret string
}

// register adds the flags to fs.
func (f *dialFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.token, "token", "", "access token for the room (default: $SPACETUI_TOKEN)")
	fs.StringVar(&f.apiKey, "api-key", "", "LiveKit: API key to mint a listen-only token with (default: $LIVEKIT_API_KEY)")
	fs.StringVar(&f.apiSecret, "api-secret", "", "LiveKit: the API key's secret (default: $LIVEKIT_API_SECRET, better: others can read command lines)")
}

// options fills the flags from the environment, checks them against the room URL (a
// LiveKit room cannot be joined without a token or an API key) and returns the dial
// options of every attempt.
func (f *dialFlags) options(rawURL string) (transport.DialOptions, error) {
	for _, v := range []struct {
		flag *string
		env  string
	}{{&f.token, "SPACETUI_TOKEN"}, {&f.apiKey, "LIVEKIT_API_KEY"}, {&f.apiSecret, "LIVEKIT_API_SECRET"}} {
		if *v.flag == "" {
			*v.flag = os.Getenv(v.env)
		}
	}
	if (f.apiKey == "") != (f.apiSecret == "") {
		return transport.DialOptions{}, usageError{errors.New("--api-key and --api-secret go together")}
	}
	if strings.HasPrefix(rawURL, "livekit") && f.token == "" && f.apiKey == "" {
		return transport.DialOptions{}, usageError{errors.New("a LiveKit room needs --token (or $SPACETUI_TOKEN), or --api-key and --api-secret")}
	}
	return transport.DialOptions{Token: f.token, APIKey: f.apiKey, APISecret: f.apiSecret}, nil
}
