package transport

import (
	"net/url"
	"slices"
	"strings"
)

// credentialWords are the parts of a query parameter's name that mark its value as a
// credential: token, access_token, api_key, client_secret, password, sig, X-Amz-Signature,
// auth, X-Amz-Credential, session and the like. Matching parts of names rather than
// whole names errs towards removing too much, which in a log line costs nothing.
var credentialWords = []string{"token", "key", "secret", "pass", "pwd", "sig", "auth", "cred", "session", "jwt"}

// RedactURL returns rawURL fit to print or log: without its user info (a password, or a
// token given as the user name), without query parameters whose names look like
// credentials (see credentialWords), without its fragment (where OAuth puts
// access_token), and without the path between the host and the last element when any
// of it looks like a token (TokenLike): an X Space's playlist URL carries its
// access token there, and the host and the last element say enough of what was
// joined. Every other part is kept as written. A URL that does not parse gives "",
// since which part of it is secret cannot be told.
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
	path := u.EscapedPath()
	dirs := strings.Split(strings.Trim(path, "/"), "/")
	if u.Opaque != "" || len(dirs) < 2 || !slices.ContainsFunc(dirs[:len(dirs)-1], TokenLike) {
		return u.String()
	}
	// The host, an ellipsis, the last element and the query, written by hand: url.URL
	// would escape the ellipsis.
	last := path[strings.LastIndex(path, "/"):]
	if last == "/" { // a directory: its own name is the last element
		last = "/" + dirs[len(dirs)-1] + "/"
	}
	u.Path, u.RawPath = "", ""
	s := u.String()
	query := ""
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s, query = s[:i], s[i:]
	}
	return s + "/…" + last + query
}

// TokenLike reports whether a URL's path element may be a credential, and so must not
// be shown or used as a name: 16 characters or more (a token in base64 or hex is 20
// to 200), or 8 or more of letters and digits mixed with nothing else (a short hex or
// random ID). Words of a path (rooms, live, hls, v1, us-east-1, non_transcode) are not.
func TokenLike(s string) bool {
	if len(s) >= 16 {
		return true
	}
	if len(s) < 8 {
		return false
	}
	var letters, digits bool
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letters = true
		default:
			return false
		}
	}
	return letters && digits
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
