package transport

import (
	"net/url"
	"strings"
)

// credentialWords are the parts of a query parameter's name that mark its value as a
// credential: token, access_token, api_key, client_secret, password, sig, X-Amz-Signature,
// auth, X-Amz-Credential, session and the like. Matching parts of names rather than
// whole names errs towards removing too much, which in a log line costs nothing.
var credentialWords = []string{"token", "key", "secret", "pass", "pwd", "sig", "auth", "cred", "session", "jwt"}

// RedactURL returns rawURL fit to print or log: without its user info (a password, or a
// token given as the user name), without query parameters whose names look like
// credentials (see credentialWords) and without its fragment (where OAuth puts
// access_token); every other part is kept as written. A URL that does not parse gives
// "", since which part of it is secret cannot be told.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	u.User, u.Fragment, u.RawFragment = nil, "", ""
	if u.RawQuery != "" {
		var kept []string
		for _, p := range strings.Split(u.RawQuery, "&") {
			name, _, _ := strings.Cut(p, "=")
			if n, err := url.QueryUnescape(name); err == nil {
				name = n
			}
			if !isCredential(name) {
				kept = append(kept, p)
			}
		}
		u.RawQuery = strings.Join(kept, "&")
	}
	u.ForceQuery = false
	return u.String()
}

func isCredential(name string) bool {
	name = strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}
