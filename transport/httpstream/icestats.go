package httpstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// An Icecast server says how many listen to each mount on its status page,
// /status-json.xsl. A stream from a server that names itself Icecast asks it once at
// the join and then every statsInterval: seldom, because a count changes slowly and
// a struggling server has better things to do.
const (
	statsInterval = 30 * time.Second
	maxStatsBytes = 1 << 20 // a server with thousands of mounts stays well under this
)

// isIcecast reports whether the response comes from an Icecast server, whose status
// page can be asked for the listener count.
func isIcecast(h http.Header) bool {
	return strings.HasPrefix(strings.ToLower(h.Get("Server")), "icecast")
}

// listenerCount asks an Icecast server how many listen to the mount of stream. The
// poller runs until ctx ends or the page cannot be read or does not list the mount;
// then it says why once in the log and the room shows no count.
type listenerCount struct {
	n atomic.Int64 // the last count; 0 while unknown
}

// poll runs the poller; call it on its own goroutine.
func (lc *listenerCount) poll(ctx context.Context, client *http.Client, stream *url.URL, clock transport.Clock, log *slog.Logger) {
	status := &url.URL{Scheme: stream.Scheme, Host: stream.Host, Path: "/status-json.xsl"}
	for {
		n, err := fetchListeners(ctx, client, status.String(), stream.Path)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Info("httpstream: no listener count from the server's status page", "err", err)
			return
		}
		lc.n.Store(int64(n))
		select {
		case <-ctx.Done():
			return
		case <-clock.After(statsInterval):
		}
	}
}

// fetchListeners reads the status page at status and returns the listeners of mount.
func fetchListeners(ctx context.Context, client *http.Client, status, mount string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, status, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, unwrapURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxStatsBytes+1))
	if err != nil {
		return 0, err
	}
	if len(b) > maxStatsBytes {
		return 0, errors.New("the status page is over 1 MiB")
	}
	return parseListeners(b, mount)
}

// parseListeners finds mount's listener count in a status-json.xsl page. Icecast
// writes "source" as an object when one mount is live and as an array otherwise; a
// source is told by the path of its listenurl, whose host is the server's own idea of
// its name.
func parseListeners(page []byte, mount string) (int, error) {
	var doc struct {
		Icestats struct {
			Source json.RawMessage `json:"source"`
		} `json:"icestats"`
	}
	if err := json.Unmarshal(page, &doc); err != nil {
		return 0, fmt.Errorf("status page: %w", err)
	}
	type source struct {
		ListenURL string `json:"listenurl"`
		Listeners *int   `json:"listeners"`
	}
	var sources []source
	raw := doc.Icestats.Source
	if len(raw) > 0 && raw[0] == '{' {
		var one source
		if err := json.Unmarshal(raw, &one); err != nil {
			return 0, fmt.Errorf("status page: %w", err)
		}
		sources = append(sources, one)
	} else if len(raw) > 0 {
		if err := json.Unmarshal(raw, &sources); err != nil {
			return 0, fmt.Errorf("status page: %w", err)
		}
	}
	for _, s := range sources {
		u, err := url.Parse(s.ListenURL)
		if err != nil || u.Path != mount || s.Listeners == nil {
			continue
		}
		if *s.Listeners < 0 {
			return 0, fmt.Errorf("status page: %d listeners", *s.Listeners)
		}
		return *s.Listeners, nil
	}
	return 0, fmt.Errorf("status page lists no mount %s", transport.Sanitize(mount, 60))
}
