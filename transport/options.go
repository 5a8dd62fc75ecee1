package transport

import (
	"net/url"
	"slices"
	"strings"
)

// Option is a setting a protocol takes besides the room URL and the token, such as the
// API key and secret a LiveKit client can mint its own token with. A command line turns
// each into a flag named Name; the value reaches the protocol's Dialer in
// DialOptions.Params under the same name.
type Option struct {
	// Name is the option's name and the flag's, e.g. "api-key".
	Name string
	// Env names the environment variable that gives the default value, "" for none.
	Env string
	// Usage is one line of help, e.g. "LiveKit: API key to mint a listen-only token with".
	Usage string
	// Secret marks a value that must never be logged or printed, and that is better
	// given in Env than on a command line others can read.
	Secret bool
	// Bool marks a switch: the flag may be given without a value, which then is "true".
	Bool bool
}

// Configurable is implemented by a Dialer whose protocol takes Options. Check is called
// before the first attempt: it reports, as an error whose text a user can act on,
// settings that cannot work for u (a missing credential, half of a pair), so a mistake
// on the command line is told at once instead of as a refused join.
type Configurable interface {
	Options() []Option
	Check(u *url.URL, opts DialOptions) error
}

// Options lists the options of every registered protocol, sorted by name, each name
// once (a protocol registered for several schemes declares its options once per
// scheme).
func Options() []Option {
	registry.RLock()
	defer registry.RUnlock()
	var out []Option
	for _, d := range registry.m {
		c, ok := d.(Configurable)
		if !ok {
			continue
		}
		for _, o := range c.Options() {
			if !slices.ContainsFunc(out, func(x Option) bool { return x.Name == o.Name }) {
				out = append(out, o)
			}
		}
	}
	slices.SortFunc(out, func(a, b Option) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Check looks up the protocol of rawURL and, if it is Configurable, has it check opts.
// The error is Lookup's or the protocol's, unwrapped, for the caller to report as a
// usage error.
func Check(rawURL string, opts DialOptions) error {
	u, d, err := Lookup(rawURL)
	if err != nil {
		return err
	}
	if c, ok := d.(Configurable); ok {
		return c.Check(u, opts)
	}
	return nil
}
