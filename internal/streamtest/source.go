package streamtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"sync"
	"time"

	"github.com/spacetui/spacetui/internal/realserver"
)

// SourceOptions configures a Source.
type SourceOptions struct {
	// File is the Ogg Opus file to loop; empty means the demo room's (DemoOgg).
	File string
	// Codec is what the mount carries: empty for the file's Opus packets copied into
	// Ogg (application/ogg), MP3, AAC or Vorbis for the file encoded by FFmpeg.
	Codec SourceCodec
	// Name and Description become the stream's icy-name and icy-description.
	Name, Description string
	// Log receives FFmpeg's warnings and errors.
	Log io.Writer
}

// SourceCodec is what a Source sends its mount.
type SourceCodec string

// The codecs of a Source besides Ogg Opus.
const (
	// MP3 is MPEG-1 Layer III, 44.1 kHz stereo, 64 kbit/s (audio/mpeg): Icecast
	// interleaves ICY metadata into it.
	MP3 SourceCodec = "mp3"
	// AAC is ADTS AAC-LC, 48 kHz stereo, 64 kbit/s (audio/aac).
	AAC SourceCodec = "aac"
	// Vorbis is Ogg Vorbis, 44.1 kHz stereo, quality 2 (about 96 kbit/s of music;
	// application/ogg).
	Vorbis SourceCodec = "vorbis"
)

// args are FFmpeg's output options for the codec.
func (c SourceCodec) args() []string {
	switch c {
	case MP3:
		return []string{"-c:a", "libmp3lame", "-ar", "44100", "-ac", "2", "-b:a", "64k", "-content_type", "audio/mpeg", "-f", "mp3"}
	case AAC:
		return []string{"-c:a", "aac", "-ar", "48000", "-ac", "2", "-b:a", "64k", "-content_type", "audio/aac", "-f", "adts"}
	case Vorbis:
		// Pages of 100 ms: FFmpeg's default of a second makes the stream reach a
		// listener a second at a time, where libogg's sources (ices, oggenc) page every
		// 4 KiB, a third of a second here.
		return []string{"-c:a", "libvorbis", "-ar", "44100", "-ac", "2", "-q:a", "2", "-page_duration", "100000", "-content_type", "application/ogg", "-f", "ogg"}
	}
	return []string{"-c", "copy", "-content_type", "application/ogg", "-f", "ogg"}
}

// Source is FFmpeg feeding a mount of an Icecast: an Ogg Opus file looped at its own
// pace (-re), its packets copied (or encoded as MP3, AAC or Ogg Vorbis).
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
	args := append([]string{"-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", o.File}, o.Codec.args()...)
	args = append(args, "-ice_name", o.Name, "-ice_description", o.Description,
		"icecast://source:"+src.ice.SourcePassword+"@"+src.ice.Addr+src.mount)
	cmd := exec.Command(bin, args...)
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

// SetTitle sets what the mount says is playing (Icecast's metadata update, as a
// source client sends it between songs); Icecast interleaves it into MP3 and AAC
// streams as ICY StreamTitle, and sends an Ogg Vorbis listener a new link whose comment
// header has it as TITLE.
func (src *Source) SetTitle(ctx context.Context, title string) error {
	q := url.Values{"mount": {src.mount}, "mode": {"updinfo"}, "song": {title}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.ice.URL("/admin/metadata?"+q.Encode()), nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth("source", src.ice.SourcePassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("icecast metadata update: %s", resp.Status)
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
