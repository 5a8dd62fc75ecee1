package main

import (
	"fmt"
	"net/url"
	"os"

	"github.com/spf13/pflag"

	"github.com/spacetui/spacetui/transport"
)

// dialFlags are the connection settings join and record share: the credential, and the
// options every registered protocol declares (transport.Options), one flag each.
type dialFlags struct {
	token  string
	params map[string]*string // by option name
	opts   []transport.Option
}

// register adds the flags to fs.
func (f *dialFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.token, "token", "", "access token for the room (default: $SPACETUI_TOKEN)")
	f.opts = transport.Options()
	f.params = make(map[string]*string, len(f.opts))
	for _, o := range f.opts {
		usage := o.Usage
		switch {
		case o.Env != "" && o.Secret:
			usage += " (default: $" + o.Env + ", better: others can read command lines)"
		case o.Env != "":
			usage += " (default: $" + o.Env + ")"
		}
		f.params[o.Name] = fs.String(o.Name, "", usage)
		if o.Bool {
			fs.Lookup(o.Name).NoOptDefVal = "true"
		}
	}
}

// options fills the flags from the environment, has the protocol of the room URL check
// them (a LiveKit room cannot be joined without a token or an API key) and returns the
// dial options of every attempt.
func (f *dialFlags) options(rawURL string) (transport.DialOptions, error) {
	if f.token == "" {
		f.token = os.Getenv("SPACETUI_TOKEN")
	}
	opts := transport.DialOptions{Token: f.token, Params: make(map[string]string, len(f.opts))}
	takes := takesOptions(rawURL)
	for _, o := range f.opts {
		v := *f.params[o.Name]
		if v != "" && !takes[o.Name] {
			// A flag of another protocol would be ignored: say so rather than let the
			// user think it took effect. (An environment default is not the user's
			// word for this room, and is left alone.)
			return transport.DialOptions{}, usageError{fmt.Errorf("--%s is not an option of %s rooms (%s)", o.Name, scheme(rawURL), o.Usage)}
		}
		if v == "" && o.Env != "" {
			v = os.Getenv(o.Env)
		}
		if v != "" {
			opts.Params[o.Name] = v
		}
	}
	if err := transport.Check(rawURL, opts); err != nil {
		return transport.DialOptions{}, usageError{err}
	}
	return opts, nil
}

// takesOptions is the set of option names the protocol of rawURL declares; none when
// the URL names no protocol (Check says so).
func takesOptions(rawURL string) map[string]bool {
	takes := map[string]bool{}
	if _, d, err := transport.Lookup(rawURL); err == nil {
		if c, ok := d.(transport.Configurable); ok {
			for _, o := range c.Options() {
				takes[o.Name] = true
			}
		}
	}
	return takes
}

// scheme is the URL's scheme as a user typed it, for messages.
func scheme(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Scheme != "" {
		return u.Scheme + "://"
	}
	return "these"
}
