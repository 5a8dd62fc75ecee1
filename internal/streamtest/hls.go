package streamtest

import (
	"cmp"
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

// HLSFormat is what kind of segments an HLS writes.
type HLSFormat string

// The segment formats: what the world's HLS streams are made of.
const (
	// FMP4Opus is fMP4 (CMAF) segments of the demo room's Opus packets, copied.
	FMP4Opus HLSFormat = "fmp4-opus"
	// ADTS is packed audio as an X Space's chunks are: raw ADTS AAC-LC, 48 kHz stereo,
	// 96 kbit/s, about 3 s a chunk (FFmpeg's segment muxer; EXTINF 3.008). An Origin
	// with XStyle puts ID3 tags before each chunk.
	ADTS HLSFormat = "adts"
	// TSAAC is MPEG-TS segments of ADTS AAC-LC, 48 kHz stereo, 96 kbit/s.
	TSAAC HLSFormat = "ts-aac"
	// TSMP3 is MPEG-TS segments of MP3, 44.1 kHz stereo, 96 kbit/s.
	TSMP3 HLSFormat = "ts-mp3"
	// FMP4AAC is fMP4 (CMAF) segments of AAC-LC, 44.1 kHz stereo, 96 kbit/s.
	FMP4AAC HLSFormat = "fmp4-aac"
)

// HLSOptions configures an HLS.
type HLSOptions struct {
	// File is the Ogg Opus file to loop; empty means the demo room's (DemoOgg).
	File string
	// Format is the segments' format; empty means FMP4Opus.
	Format HLSFormat
	// SegmentSeconds is the target segment length; zero means 2 (3 for ADTS).
	SegmentSeconds int
	// ListSize is how many segments the playlist lists; zero means 6.
	ListSize int
	// Listed is how many segments StartHLS waits for the playlist to list before it
	// returns: a stream that has run a while rather than one just begun; zero means 1.
	Listed int
	// Log receives FFmpeg's warnings and errors.
	Log io.Writer
}

// HLS is FFmpeg writing a live HLS stream into a directory: an Ogg Opus file looped at
// its own pace, in segments of opts.Format, and the media playlist index.m3u8 listing
// the newest of them (fMP4 Opus: with PROGRAM-DATE-TIME on every segment, old segments
// deleted).
type HLS struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// StartHLS starts FFmpeg writing into dir and returns once the playlist lists a segment
// (opts.Listed of them).
func StartHLS(ctx context.Context, dir string, opts HLSOptions) (*HLS, error) {
	bin, err := Binary("ffmpeg")
	if err != nil {
		return nil, err
	}
	if opts.File == "" {
		opts.File = DemoOgg()
	}
	args, err := hlsArgs(dir, opts)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", opts.File}, args...)...)
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
		if b, err := os.ReadFile(filepath.Join(dir, hlsPlaylist)); err == nil && strings.Count(string(b), "#EXTINF") >= max(opts.Listed, 1) {
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

// MakeSegments has FFmpeg write the first seconds of the file as a finished HLS stream
// of opts.Format into dir, as fast as it can, and returns its playlist.
func MakeSegments(ctx context.Context, dir string, opts HLSOptions, seconds int) (Playlist, error) {
	bin, err := Binary("ffmpeg")
	if err != nil {
		return Playlist{}, err
	}
	if opts.File == "" {
		opts.File = DemoOgg()
	}
	opts.ListSize = 1 << 20 // every segment
	args, err := hlsArgs(dir, opts)
	if err != nil {
		return Playlist{}, err
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"-nostdin", "-loglevel", "error", "-t", strconv.Itoa(seconds), "-i", opts.File}, args...)...)
	cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	cmd.SysProcAttr = realserver.SysProcAttr()
	if err := cmd.Run(); err != nil {
		return Playlist{}, fmt.Errorf("ffmpeg: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, hlsPlaylist))
	if err != nil {
		return Playlist{}, err
	}
	return ParsePlaylist(b)
}

// hlsArgs are FFmpeg's output options for opts.Format, writing into dir.
func hlsArgs(dir string, opts HLSOptions) ([]string, error) {
	if opts.ListSize == 0 {
		opts.ListSize = 6
	}
	list := strconv.Itoa(opts.ListSize)
	// hls is the HLS muxer's options: a live playlist with dates, old segments deleted.
	hls := func(typ, ext string) []string {
		return []string{"-f", "hls", "-hls_segment_type", typ,
			"-hls_time", strconv.Itoa(cmp.Or(opts.SegmentSeconds, 2)), "-hls_list_size", list,
			"-hls_flags", "delete_segments+program_date_time+temp_file",
			"-hls_fmp4_init_filename", "init.mp4", "-hls_segment_filename", filepath.Join(dir, "seg%d."+ext),
			filepath.Join(dir, hlsPlaylist)}
	}
	switch opts.Format {
	case "", FMP4Opus:
		return append([]string{"-c:a", "copy"}, hls("fmp4", "m4s")...), nil
	case TSAAC:
		return append([]string{"-c:a", "aac", "-ar", "48000", "-ac", "2", "-b:a", "96k"}, hls("mpegts", "ts")...), nil
	case FMP4AAC:
		return append([]string{"-c:a", "aac", "-ar", "44100", "-ac", "2", "-b:a", "96k"}, hls("fmp4", "m4s")...), nil
	case TSMP3:
		return append([]string{"-c:a", "libmp3lame", "-ar", "44100", "-ac", "2", "-b:a", "96k"}, hls("mpegts", "ts")...), nil
	case ADTS:
		// The segment muxer lists a chunk once it is complete; it keeps old chunks.
		return []string{"-c:a", "aac", "-ar", "48000", "-ac", "2", "-b:a", "96k", "-f", "segment",
			"-segment_time", strconv.Itoa(cmp.Or(opts.SegmentSeconds, 3)), "-segment_format", "adts",
			"-segment_list", filepath.Join(dir, hlsPlaylist), "-segment_list_type", "m3u8",
			"-segment_list_flags", "+live", "-segment_list_size", list,
			filepath.Join(dir, "chunk%05d.aac")}, nil
	}
	return nil, fmt.Errorf("streamtest: HLS format %q", opts.Format)
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
