package httpstream

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/streamtest"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/transporttest"
)

// TestIcecastContract: a real Icecast mount fed Ogg Opus, MP3 or AAC by FFmpeg keeps
// the contract every protocol keeps.
func TestIcecastContract(t *testing.T) {
	for _, tc := range []struct {
		codec streamtest.SourceCodec
		mount string
	}{
		{"", "/demo.ogg"},
		{streamtest.MP3, "/live.mp3"},
		{streamtest.AAC, "/live.aac"},
	} {
		t.Run(tc.mount, func(t *testing.T) {
			ice := streamtest.IcecastT(t, streamtest.IcecastOptions{BurstSize: 8192})
			streamtest.SourceT(t, ice, tc.mount, streamtest.SourceOptions{Codec: tc.codec, Name: "Demo Radio", Description: "a test stream"})
			transporttest.Run(t, transporttest.Room{URL: ice.URL(tc.mount), Speakers: 1, Within: 30 * time.Second, NoTranscript: true})
		})
	}
}

// TestIcecastRefusals: a mount that was never there is not found, at once.
func TestIcecastRefusals(t *testing.T) {
	ice := streamtest.IcecastT(t, streamtest.IcecastOptions{})
	_, err := transport.Dial(t.Context(), ice.URL("/nothing.ogg"), transport.DialOptions{})
	if !errors.Is(err, transport.ErrNotFound) {
		t.Errorf("err %v, want not found", err)
	}
}

// TestIcecastSourceRestart: the source leaves mid-stream (Icecast drops its listeners
// and answers 404 for the mount) and comes back 2 s later: the listener comes back by
// itself, and the track goes on with the next sequence number, later on the room clock.
func TestIcecastSourceRestart(t *testing.T) {
	ice := streamtest.IcecastT(t, streamtest.IcecastOptions{BurstSize: 8192})
	src := streamtest.SourceT(t, ice, "/demo.ogg", streamtest.SourceOptions{Name: "Demo Radio"})

	var (
		mu     sync.Mutex
		fs     []transport.AudioFrame
		at     []time.Time
		states []transport.State
		gaps   int
		lives  []int // the number of frames when each connection went live
	)
	// framesSince counts the frames that arrived after since.
	framesSince := func(since time.Time) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range at {
			if a.After(since) {
				n++
			}
		}
		return n
	}
	waitFrames := func(since time.Time, n int, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for framesSince(since) < n {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("%d frames after %s, want %d; states %+v", len(fs), within, n, states)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	rc := &transport.Reconnector{URL: ice.URL("/demo.ogg"), Policy: transport.DefaultPolicy(), Clock: transport.SystemClock{}}
	done := make(chan error, 1)
	go func() {
		done <- rc.Run(ctx, func(ev transport.Event) {
			mu.Lock()
			defer mu.Unlock()
			switch e := ev.(type) {
			case transport.AudioFrame:
				fs, at = append(fs, e), append(at, time.Now())
			case transport.State:
				states = append(states, e)
				if e.State == transport.StateLive {
					lives = append(lives, len(fs))
				}
			case transport.Gap:
				gaps++
			}
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitFrames(time.Time{}, 100, 15*time.Second)
	if err := src.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	time.Sleep(2 * time.Second)
	if err := src.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	waitFrames(back, 100, 30*time.Second)

	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(fs); i++ {
		if fs[i].Seq != fs[i-1].Seq+1 || int32(fs[i].Timestamp-fs[i-1].Timestamp) < 960 {
			t.Fatalf("frame %d: seq %d ts %d after seq %d ts %d", i, fs[i].Seq, fs[i].Timestamp, fs[i-1].Seq, fs[i-1].Timestamp)
		}
	}
	var reconnecting bool
	for _, s := range states {
		reconnecting = reconnecting || s.State == transport.StateReconnecting
	}
	if !reconnecting || gaps == 0 || len(lives) < 2 {
		t.Fatalf("states %+v, %d gaps: want reconnecting, a gap and a second connection", states, gaps)
	}
	resumed := lives[len(lives)-1]
	t.Logf("source away %s; first frame %s after it came back (%s after it left); %d frames, %d states",
		back.Sub(stopped).Round(time.Millisecond), at[resumed].Sub(back).Round(time.Millisecond),
		at[resumed].Sub(stopped).Round(time.Millisecond), len(fs), len(states))
}

// TestIcecastMP3AndAAC: a real Icecast mount of MP3 or AAC, encoded by FFmpeg: whole
// frames in order on the room clock by the running total of samples (the 44.1 kHz MP3
// without drift), and a title the source sets mid-stream, which Icecast interleaves as
// ICY metadata, changes the room's title.
func TestIcecastMP3AndAAC(t *testing.T) {
	for _, tc := range []struct {
		codec     streamtest.SourceCodec
		mount     string
		want      transport.Codec
		rate, per int
	}{
		{streamtest.MP3, "/live.mp3", transport.CodecMP3, 44100, 1152},
		{streamtest.AAC, "/live.aac", transport.CodecAAC, 48000, 1024},
	} {
		t.Run(string(tc.codec), func(t *testing.T) {
			ice := streamtest.IcecastT(t, streamtest.IcecastOptions{BurstSize: 8192})
			src := streamtest.SourceT(t, ice, tc.mount, streamtest.SourceOptions{Codec: tc.codec, Name: "Demo Radio"})
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			c, err := transport.Dial(ctx, ice.URL(tc.mount), transport.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var (
				fs     []transport.AudioFrame
				titles []string
				set    int // frames before the title was set
			)
			perSecond := tc.rate / tc.per
			for len(titles) == 0 || titles[len(titles)-1] != "Demo Radio — Ada - Opening" || len(fs) < set+perSecond {
				ev, err := c.Recv(ctx)
				if err != nil {
					t.Fatalf("after %d frames, titles %q: %v", len(fs), titles, err)
				}
				switch e := ev.(type) {
				case transport.AudioFrame:
					fs = append(fs, e)
				case transport.RoomInfo:
					titles = append(titles, e.Title)
				case transport.Roster:
					if len(e.Speakers) != 1 || e.Speakers[0].Name != "Demo Radio" {
						t.Errorf("roster %+v, want the stream, named by icy-name", e.Speakers)
					}
				default:
					t.Fatalf("%#v in a healthy stream", e)
				}
				if len(fs) == 2*perSecond && set == 0 {
					set = len(fs)
					if err := src.SetTitle(ctx, "Ada - Opening"); err != nil {
						t.Fatal(err)
					}
				}
			}
			checkLive(t, fs, 3*perSecond, tc.want, tc.rate, tc.per)
			if titles[0] != "Demo Radio" {
				t.Errorf("first title %q, want the stream's name", titles[0])
			}
			t.Logf("%d frames, titles %q", len(fs), titles)
		})
	}
}

// TestIcecastListenerCount: the room shows how many listen to the mount, as the real
// server's status page counts them: a second listener sees itself and the first.
func TestIcecastListenerCount(t *testing.T) {
	ice := streamtest.IcecastT(t, streamtest.IcecastOptions{BurstSize: 8192})
	streamtest.SourceT(t, ice, "/live.mp3", streamtest.SourceOptions{Codec: streamtest.MP3, Name: "Demo Radio"})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	first, err := transport.Dial(ctx, ice.URL("/live.mp3"), transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := transport.Dial(ctx, ice.URL("/live.mp3"), transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	var counts []int
	for {
		ev, err := second.Recv(ctx)
		if err != nil {
			t.Fatalf("the room's listener counts %v, never 2: %v", counts, err)
		}
		if ri, ok := ev.(transport.RoomInfo); ok {
			counts = append(counts, ri.Listeners)
			if ri.Listeners == 2 {
				return
			}
		}
	}
}
