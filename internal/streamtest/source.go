package streamtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"time"

	"github.com/spacetui/spacetui/internal/realserver"
)

// SourceOptions configures a Source.
type SourceOptions struct {
	// File is the Ogg Opus file to loop; empty means the demo room's (DemoOgg).
	File string
	// Name and Description become the stream's icy-name and icy-description.
	Name, Description string
	// Log receives FFmpeg's warnings and errors.
	Log io.Writer
}

// Source is FFmpeg feeding a mount of an Icecast: an Ogg Opus file looped at its own
// pace (-re), its packets copied, not re-encoded.
type Source struct {
	ice   *Icecast
	mount string
	opts  SourceOptions

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// StartSource starts FFmpeg feeding mount ("/demo.ogg") and returns once a listener
// can hear it.
func (s *Icecast) StartSource(ctx context.Context, mount string, opts SourceOptions) (*Source, error) {
	if opts.File == "" {
		opts.File = DemoOgg()
	}
	src := &Source{ice: s, mount: mount, opts: opts}
	if err := src.Start(ctx); err != nil {
		return nil, err
	}
	return src, nil
}

// Start starts FFmpeg again after Stop (the source coming back) and returns once the
// mount is live.
func (src *Source) Start(ctx context.Context) error {
	bin, err := Binary("ffmpeg")
	if err != nil {
		return err
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.cmd != nil {
		return errors.New("streamtest: source already running")
	}
	o := src.opts
	cmd := exec.Command(bin, "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", o.File,
		"-c", "copy", "-content_type", "application/ogg", "-ice_name", o.Name, "-ice_description", o.Description,
		"-f", "ogg", "icecast://source:"+src.ice.SourcePassword+"@"+src.ice.Addr+src.mount)
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	cmd.SysProcAttr = realserver.SysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ffmpeg: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	if err := waitMount(ctx, src.ice.URL(src.mount), done); err != nil {
		stop(cmd, done)
		return fmt.Errorf("ffmpeg feeding %s: %w", src.mount, err)
	}
	src.cmd, src.done = cmd, done
	return nil
}

// Stop stops FFmpeg, so the mount goes away (Icecast drops its listeners and answers
// 404). It is idempotent.
func (src *Source) Stop() error {
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.cmd != nil {
		stop(src.cmd, src.done)
		src.cmd = nil
	}
	return nil
}

// waitMount polls url until it answers 200.
func waitMount(ctx context.Context, url string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("exited before the mount was live")
		case <-ctx.Done():
			return fmt.Errorf("mount not live: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
