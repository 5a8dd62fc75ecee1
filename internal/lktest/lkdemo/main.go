// Command lkdemo runs the demo room on LiveKit: it starts a LiveKit development server on
// 127.0.0.1 (or uses the one --url names) and publishes the embedded demo into a room,
// one participant per speaker, looped, with live transcripts, until Ctrl-C. It prints the
// spacetui command that joins the room. scripts/livekit-demo.sh builds and runs it.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spacetui/spacetui/internal/lktest"
	"github.com/spacetui/spacetui/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "lkdemo:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "lkdemo:", err)
		os.Exit(1)
	}
}

type usageError struct{ error }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lkdemo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 7880, "signalling `port` of the LiveKit server to start")
	room := fs.String("room", "demo", "`name` of the room to publish into")
	lkURL := fs.String("url", "", "publish into the LiveKit server at this `URL` (ws://HOST:PORT) instead of starting one")
	key := fs.String("api-key", "", "API `key` of the server given by --url (default: $LIVEKIT_API_KEY)")
	secret := fs.String("api-secret", "", "API `secret` of the server given by --url (default: $LIVEKIT_API_SECRET, better: others can read command lines)")
	serverLog := fs.String("server-log", "", "write the started LiveKit server's own log to `FILE`")
	verbose := fs.Bool("verbose", false, "log the LiveKit SDK's and pion's own messages too")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: lkdemo [flags]\n\n"+
			"Starts a LiveKit development server and publishes the spacetui demo room into it,\n"+
			"one participant per speaker, until interrupted.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	// The environment is read after parsing, so that -help never prints the secret.
	*key, *secret = cmp.Or(*key, os.Getenv("LIVEKIT_API_KEY")), cmp.Or(*secret, os.Getenv("LIVEKIT_API_SECRET"))
	if *lkURL != "" && (*key == "" || *secret == "") {
		return usageError{errors.New("--url needs --api-key and --api-secret")}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	// The SDK logs an error per failed attempt while a server is down; the publisher's
	// own log already says what is going on.
	sdkLevel := slog.LevelError + 1
	if *verbose {
		sdkLevel = slog.LevelInfo
	}
	sdkLog := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: sdkLevel}))

	speakers, err := server.DemoSpeakerTracks()
	if err != nil {
		return err
	}
	if *lkURL == "" {
		opts := lktest.Options{Port: *port}
		if *serverLog != "" {
			f, err := os.Create(*serverLog)
			if err != nil {
				return err
			}
			defer f.Close()
			opts.Log = f
		}
		srv, err := lktest.Start(ctx, opts)
		if err != nil {
			return err
		}
		defer srv.Stop()
		*lkURL, *key, *secret = srv.URL, srv.APIKey, srv.APISecret
		log.Info("livekit server started", "url", srv.URL)
	}
	joinURL, err := roomURL(*lkURL, *room)
	if err != nil {
		return usageError{err}
	}

	pub, err := lktest.StartPublisher(ctx, lktest.PublishOptions{
		URL: *lkURL, APIKey: *key, APISecret: *secret, Room: *room,
		Speakers: speakers, Logger: log, SDKLogger: sdkLog,
	})
	if err != nil {
		return err
	}
	defer pub.Close()
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = pub.WaitJoined(waitCtx)
	cancel()
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		log.Warn("the speakers are not all in the room yet; they keep trying", "err", err)
	}
	printJoin(stdout, joinURL, *key, *secret)
	<-ctx.Done()
	log.Info("stopping")
	return nil
}

// printJoin tells how to join the room. The credentials go into the environment, not
// onto spacetui's command line, where other users of the machine could read them (ps).
func printJoin(w io.Writer, roomURL, key, secret string) {
	fmt.Fprintf(w, "The demo room is live. Join it from another terminal with:\n\n"+
		"  export LIVEKIT_API_KEY=%s LIVEKIT_API_SECRET=%s\n"+
		"  spacetui join %s\n\n(Ctrl-C to stop.)\n", key, secret, roomURL)
}

// roomURL turns a LiveKit signalling URL and a room name into the URL spacetui joins:
// ws://HOST:PORT becomes livekit://HOST:PORT/ROOM, wss://HOST livekit+wss://HOST/ROOM.
func roomURL(signal, room string) (string, error) {
	u, err := url.Parse(signal)
	if err != nil {
		return "", fmt.Errorf("--url: %w", err)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "livekit"
	case "wss", "https":
		u.Scheme = "livekit+wss"
	default:
		return "", fmt.Errorf("--url %q: want ws:// or wss://", signal)
	}
	u.Path, u.RawPath = "/"+room, ""
	return u.String(), nil
}
