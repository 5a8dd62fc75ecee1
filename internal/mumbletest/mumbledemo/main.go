// Command mumbledemo runs the demo room on Mumble: it starts a Mumble server (Debian's
// murmurd) on 127.0.0.1 with its own files in a temporary directory, makes a channel,
// and speaks the embedded demo into it, one Mumble user per speaker, looped, each cue
// typed into the channel's chat as it ends, until Ctrl-C. It prints the spacetui
// command that joins the channel. scripts/mumble-demo.sh runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spacetui/spacetui/internal/mumbletest"
	"github.com/spacetui/spacetui/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "mumbledemo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mumbledemo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 64738, "`port` of the Mumble server to start (TCP and UDP)")
	channel := fs.String("channel", "Demo", "`name` of the channel to speak in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "mumbledemo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logFile, err := os.Create(filepath.Join(dir, "murmur.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	s, err := mumbletest.Start(ctx, mumbletest.Options{Dir: dir, Port: *port, Name: "spacetui demo", Log: logFile})
	if err != nil {
		return err
	}
	defer s.Stop()
	if err := s.MakeChannel(*channel, "the spacetui demo: three voices, captions typed as chat"); err != nil {
		return err
	}
	tracks, err := server.DemoSpeakerTracks()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	p, err := mumbletest.StartPublisher(ctx, mumbletest.PublishOptions{Addr: s.Addr, Channel: *channel, Speakers: tracks, Logger: log})
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.WaitJoined(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Mumble server on %s (files in %s), channel %q live. In another terminal:\n\n    spacetui join %s\n\nCtrl-C stops it.\n",
		s.Addr, dir, *channel, s.URL(*channel))
	<-ctx.Done()
	return nil
}
