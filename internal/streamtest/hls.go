package streamtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spacetui/spacetui/internal/realserver"
)

// hlsPlaylist is the name of the media playlist an HLS writes.
const hlsPlaylist = "index.m3u8"

// HLSOptions configures an HLS.
type HLSOptions struct {
	// File is the Ogg Opus file to loop; empty means the demo room's (DemoOgg).
	File string
	// SegmentSeconds is the target segment length; zero means 2.
	SegmentSeconds int
	// ListSize is how many segments the playlist lists; zero means 6.
	ListSize int
	// Log receives FFmpeg's warnings and errors.
	Log io.Writer
}

// HLS is FFmpeg writing a live HLS stream into a directory: an Ogg Opus file looped at
// its own pace, its packets copied into fMP4 (CMAF) segments, the media playlist
// index.m3u8 with PROGRAM-DATE-TIME on every segment, old segments deleted.
type HLS struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// StartHLS starts FFmpeg writing into dir and returns once the playlist lists a segment.
func StartHLS(ctx context.Context, dir string, opts HLSOptions) (*HLS, error) {
	bin, err := Binary("ffmpeg")
	if err != nil {
		return nil, err
	}
	if opts.File == "" {
		opts.File = DemoOgg()
	}
	if opts.SegmentSeconds == 0 {
		opts.SegmentSeconds = 2
	}
	if opts.ListSize == 0 {
		opts.ListSize = 6
	}
	cmd := exec.Command(bin, "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", opts.File,
		"-c:a", "copy", "-f", "hls", "-hls_segment_type", "fmp4",
		"-hls_time", strconv.Itoa(opts.SegmentSeconds), "-hls_list_size", strconv.Itoa(opts.ListSize),
		"-hls_flags", "delete_segments+program_date_time+temp_file",
		"-hls_fmp4_init_filename", "init.mp4", "-hls_segment_filename", filepath.Join(dir, "seg%d.m4s"),
		filepath.Join(dir, hlsPlaylist))
	cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	cmd.SysProcAttr = realserver.SysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ffmpeg: %w", err)
	}
	h := &HLS{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(h.done) }()
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		if b, err := os.ReadFile(filepath.Join(dir, hlsPlaylist)); err == nil && strings.Contains(string(b), "#EXTINF") {
			return h, nil
		}
		select {
		case <-h.done:
			return nil, errors.New("ffmpeg exited before it wrote a playlist")
		case <-ctx.Done():
			_ = h.Stop()
			return nil, fmt.Errorf("ffmpeg wrote no playlist: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop stops FFmpeg; it is idempotent.
func (h *HLS) Stop() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd != nil {
		stop(h.cmd, h.done)
		h.cmd = nil
	}
	return nil
}
