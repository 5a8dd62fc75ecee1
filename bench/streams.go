package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spacetui/spacetui/internal/streamtest"
)

// The streams a listener meets outside spacetui's own rooms (issue 12): an X Space's
// kind of HLS (raw ADTS AAC chunks after ID3 tags, served by a test origin in front of
// FFmpeg's live output) and an Icecast mount of MP3, each played by `join --headless`,
// ffplay and mpv from the same URL. Both carry the clicks room's audio, whose noise
// floor makes the first sample of any player count as first audio.

// streams starts the HLS and Icecast sources and returns them as targets by name, with
// a function that stops them all. A source that cannot start is left out with the
// reason in missing.
func (b *bench) streams(dir, clicks string, missing map[string]string) (map[string]target, func()) {
	ctx := context.Background()
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	log, err := os.Create(filepath.Join(dir, "streams.log"))
	if err != nil {
		missing["streams"] = err.Error()
		return nil, stopAll
	}
	stops = append(stops, func() { log.Close() })
	got := map[string]target{}

	hlsDir := filepath.Join(dir, "hls")
	if err := os.MkdirAll(hlsDir, 0o755); err != nil {
		missing["HLS"] = err.Error()
	} else if h, err := streamtest.StartHLS(ctx, hlsDir, streamtest.HLSOptions{File: clicks, Format: streamtest.ADTS, Log: log, Listed: 4}); err != nil {
		missing["HLS"] = err.Error()
	} else {
		stops = append(stops, func() { _ = h.Stop() })
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			missing["HLS"] = err.Error()
		} else {
			srv := &http.Server{Handler: &streamtest.Origin{Dir: hlsDir, XStyle: true}}
			go func() { _ = srv.Serve(ln) }()
			stops = append(stops, func() { _ = srv.Close() })
			u := "http://" + ln.Addr().String() + "/Transcoding/v1/hls/bench/non_transcode/audio-space/dynamic_playlist.m3u8?type=live"
			got["HLS"] = target{room: u, listen: u}
		}
	}

	iceDir := filepath.Join(dir, "icecast")
	if err := os.MkdirAll(iceDir, 0o755); err != nil {
		missing["Icecast"] = err.Error()
	} else if ice, err := streamtest.StartIcecast(ctx, streamtest.IcecastOptions{Dir: iceDir, BurstSize: 8192, Log: log}); err != nil {
		missing["Icecast"] = err.Error()
	} else {
		stops = append(stops, func() { _ = ice.Stop() })
		src, err := ice.StartSource(ctx, "/demo.mp3", streamtest.SourceOptions{File: clicks, Codec: streamtest.MP3, Name: "Clicks Radio", Log: log})
		if err != nil {
			missing["Icecast"] = err.Error()
		} else {
			stops = append(stops, func() { _ = src.Stop() })
			u := ice.URL("/demo.mp3")
			got["Icecast"] = target{room: u, listen: u}
		}
	}
	return got, stopAll
}

// streamRun is one player on one stream: its CPU and memory, and how soon it was heard.
type streamRun struct {
	sample
	firstAudio time.Duration // 0: never heard
}

// streamRuns measures the players that play any URL (spacetui, ffplay, mpv) on each
// stream, interleaved run by run, as long as on the clicks room.
func (b *bench) streamRuns(subjects []subject, present func(subject) bool, runs int, dir, clicks string, missing map[string]string, out io.Writer) (map[string][]streamRun, []string) {
	streams, stop := b.streams(dir, clicks, missing)
	defer stop()
	results := map[string][]streamRun{}
	var names []string
	for _, stream := range []string{"HLS", "Icecast"} {
		for _, s := range subjects {
			if s.player {
				names = append(names, stream+" · "+s.name)
			}
		}
	}
	for r := range runs {
		for _, stream := range []string{"HLS", "Icecast"} {
			t, ok := streams[stream]
			if !ok {
				continue
			}
			for _, s := range subjects {
				if !s.player || !present(s) {
					continue
				}
				name := stream + " · " + s.name
				fmt.Fprintf(out, "stream %d/%d: %s for %s\n", r+1, runs, name, b.latencyFor)
				sr, err := b.measureStream(s, t, dir)
				if err != nil {
					missing[name] = err.Error()
					continue
				}
				results[name] = append(results[name], sr)
			}
		}
	}
	for _, stream := range []string{"HLS", "Icecast"} {
		if why, ok := missing[stream]; ok {
			for _, n := range names {
				if strings.HasPrefix(n, stream+" ") {
					missing[n] = why
				}
			}
		}
	}
	return results, names
}

// measureStream runs s on the stream t with a capture of the sink's monitor: CPU and
// peak RSS as measure does, and the time from start to the first sample heard.
func (b *bench) measureStream(s subject, t target, dir string) (streamRun, error) {
	capt, err := startCapture()
	if err != nil {
		return streamRun{}, err
	}
	defer capt.stop()
	start := time.Now()
	sm, err := b.measure(s, t, dir, b.latencyFor)
	if err != nil {
		return streamRun{}, err
	}
	r := streamRun{sample: sm}
	capt.mu.Lock()
	if capt.b.first >= 0 {
		r.firstAudio = capt.clk.at(capt.b.first).Sub(start)
	}
	capt.mu.Unlock()
	return r, nil
}

// printStreams prints the streams' table: medians of CPU, peak RSS and first audio, CPU
// as ratios against ffplay and mpv on the same stream.
func printStreams(out io.Writer, names []string, results map[string][]streamRun, missing map[string]string, d time.Duration, runs int) {
	fmt.Fprintf(out, "streams: medians of %d interleaved runs of %s each; CPU in %% of one core\n", runs, d)
	fmt.Fprintln(out, "the clicks room's audio as HLS (raw ADTS AAC chunks after ID3 tags, an X Space's kind, joined once 4 are listed) and Icecast MP3")
	pick := func(name string, f func(streamRun) float64) float64 { return medianOf(results[name], f) }
	cpu := func(r streamRun) float64 { return r.cpu }
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "subject\tCPU %\tvs ffplay\tvs mpv\tpeak RSS MiB\tfirst audio ms\t")
	for _, n := range names {
		if len(results[n]) == 0 {
			fmt.Fprintf(tw, "%s\tnot measured: %s\t\t\t\t\t\n", n, missing[n])
			continue
		}
		stream, _, _ := strings.Cut(n, " · ")
		c := pick(n, cpu)
		var first []float64
		for _, r := range results[n] {
			if r.firstAudio > 0 {
				first = append(first, float64(r.firstAudio)/float64(time.Millisecond))
			}
		}
		heard := "never heard"
		if len(first) > 0 {
			heard = fmt.Sprintf("%.0f", median(first))
		}
		if len(first) > 0 && len(first) < len(results[n]) {
			heard += fmt.Sprintf(" (heard in %d of %d)", len(first), len(results[n]))
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%s\t%.1f\t%s\t\n", n, c,
			ratio(c, pick(stream+" · ffplay", cpu)), ratio(c, pick(stream+" · mpv", cpu)),
			pick(n, func(r streamRun) float64 { return r.rssMiB }), heard)
	}
	_ = tw.Flush()
}
