package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/crowd"
	"github.com/spacetui/spacetui/record"
	"github.com/spacetui/spacetui/server"
	"github.com/spacetui/spacetui/session"
	"github.com/spacetui/spacetui/transport"
	_ "github.com/spacetui/spacetui/transport/httpstream" // registers http:// and https://
	_ "github.com/spacetui/spacetui/transport/livekit"    // registers livekit:// and livekit+wss://
	_ "github.com/spacetui/spacetui/transport/mumble"     // registers mumble://
	_ "github.com/spacetui/spacetui/transport/ws"         // registers ws:// and wss://
	"github.com/spacetui/spacetui/ui"
	"github.com/spacetui/spacetui/ui/headless"
)

// version is set at build time with -ldflags "-X main.version=..."; version.go appends
// the commit the binary was built from.
var version = "dev"

// usageError marks a mistake on the command line: exit status 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// exitCode maps run's error to the exit status the README documents (0 done, 1 error,
// 2 usage) and prints it as one line.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, context.Canceled) {
		return 0
	}
	fmt.Fprintln(stderr, "spacetui:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// run is the whole program: parse args, run the command.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command") {
		return usageError{err} // cobra reports a mistyped command as a plain error
	}
	return err
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "spacetui",
		Short: "A terminal client for live audio rooms",
		Long: `spacetui joins live audio rooms from a terminal: it plays the room on your sound card,
shows who is speaking and a live transcript, and rides out server overloads and outages
without giving up and without hammering the server.

Try it:  spacetui demo`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see %s --help)", err, c.CommandPath())}
	})
	root.PersistentFlags().String("config", "", "read defaults from this TOML file (default: $XDG_CONFIG_HOME/spacetui/config.toml)")
	std := ioSet{stdin, stdout, stderr}
	root.AddCommand(newMan(std))
	root.AddCommand(newSimulate(std))
	root.AddCommand(newRooms(std))
	root.AddCommand(newDemo(std), newJoin(std), newRecord(std), newServe(std), newLoadtest(std), newDevices(std))
	return root
}

type ioSet struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// joinFlags are the flags demo and join share.
type joinFlags struct {
	headless    bool
	json        bool
	output      string
	record      string
	forDur      time.Duration
	logPath     string
	volume      int
	giveUpAfter time.Duration
	dial        dialFlags
	force       bool
	capture     bool // the record command
	noColor     bool // the config file's color = "never"
}

func (f *joinFlags) register(c *cobra.Command) {
	fs := c.Flags()
	fs.BoolVar(&f.headless, "headless", false, "no TUI: print events (one line each) instead")
	fs.BoolVar(&f.json, "json", false, "with --headless: stdout carries only JSON lines, one event each")
	fs.StringVar(&f.output, "output", "", `audio output: a device name (see "spacetui devices"), "null", or "wav:PATH" (default: the default device)`)
	fs.StringVar(&f.record, "record", "", "record the room into this directory (a non-empty one is never written into: DIR-2, ... is used)")
	fs.DurationVar(&f.forDur, "for", 0, "leave after this long, counted from the first successful join (e.g. 90s, 10m); exit 0")
	fs.StringVar(&f.logPath, "log", "", "write the log here (default with the TUI: $XDG_STATE_HOME/spacetui/spacetui.log)")
	fs.IntVar(&f.volume, "volume", 80, "volume in percent, 0-150")
	fs.DurationVar(&f.giveUpAfter, "give-up-after", 0, "stop with an error after an outage this long (default: never give up)")
	fs.BoolVar(&f.force, "force", false, "with --record: write into DIR even if it is not empty")
	f.dial.register(fs)
	_ = c.RegisterFlagCompletionFunc("output", completeOutput)
}

// completeOutput completes --output with the sound devices and the other outputs.
func completeOutput(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	outs := []cobra.Completion{"null", "wav:"}
	devs, _ := audio.Devices() // none without a sound server: the other outputs remain
	for _, d := range devs {
		outs = append(outs, d.Name)
	}
	return outs, cobra.ShellCompDirectiveNoFileComp
}

func (f *joinFlags) validate() error {
	if f.volume < 0 || f.volume > 150 {
		return usageError{fmt.Errorf("--volume %d: want 0-150", f.volume)}
	}
	if f.json && !f.headless {
		return usageError{errors.New("--json needs --headless (the TUI owns the terminal)")}
	}
	if f.forDur < 0 || f.giveUpAfter < 0 {
		return usageError{errors.New("--for and --give-up-after take a positive duration")}
	}
	return nil
}

// start applies the config file, validates the flags and opens the log (a file with the
// TUI, else stderr unless --log); the returned func closes it.
func (f *joinFlags) start(c *cobra.Command, std ioSet) (*slog.Logger, func(), error) {
	path, _ := c.Flags().GetString("config")
	explicit := path != ""
	if !explicit {
		path = defaultConfigPath()
	}
	cfg, err := loadConfig(path, explicit)
	if err != nil {
		return nil, nil, usageError{err}
	}
	cfg.apply(c.Flags(), f)
	if err := f.validate(); err != nil {
		return nil, nil, err
	}
	return openLog(f.logPath, !f.headless, std.stderr)
}

// joinRoom runs a session against url with the shared flags: the hub, given its sink,
// recorder options, logger and one front end.
func joinRoom(ctx context.Context, url string, f *joinFlags, std ioSet, logger *slog.Logger) error {
	dial, err := f.dial.options(url)
	if err != nil {
		return err
	}
	dial.Logger = logger
	notify := noticer(std.stderr, logger, f.logPath != "" || !f.headless)
	sink, err := openOutput(f.output, logger)
	if err != nil {
		return err
	}
	cfg := session.Config{
		URL: url, Dial: dial,
		Policy:         transport.DefaultPolicy(),
		Sink:           sink,
		Volume:         f.volume,
		DecodeOptional: f.capture,
		For:            f.forDur,
		Logger:         logger,
		Notify:         notify,
	}
	cfg.Policy.GiveUpAfter = f.giveUpAfter
	if f.record != "" {
		cfg.Record = &record.Options{Dir: f.record, Force: f.force, RoomURL: url, ClientVersion: version}
	}
	hub, err := session.New(cfg)
	if err != nil {
		return err
	}
	var fe session.Frontend
	switch {
	case f.headless:
		hf := headless.Frontend{Stdout: std.stdout, JSON: f.json}
		if f.capture {
			hf.Progress = std.stderr
		}
		fe = hf
	default:
		_, noColor := os.LookupEnv("NO_COLOR")
		fe = ui.Frontend{Stdin: std.stdin, Stdout: std.stdout, NoColor: noColor || f.noColor}
	}
	return hub.Run(ctx, fe)
}

// openOutput opens the sink the user asked for. The default device opens in the
// background while the room is dialled, and if it cannot be opened the session goes on
// without sound and says why (audio.LateSink); a device the user named must exist.
func openOutput(spec string, logger *slog.Logger) (audio.Sink, error) {
	if spec == "" || spec == "default" {
		return audio.OpenDefaultLate(func(err error) {
			logger.Warn("no sound device, playing to nothing", "err", err)
		}), nil
	}
	sink, err := audio.OpenSink(spec)
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", spec, err)
	}
	return sink, nil
}

// noticer tells the user something once: on stderr (after the TUI has exited, stderr is
// the terminal again), and in the log when that is a file.
func noticer(stderr io.Writer, logger *slog.Logger, logToFile bool) func(string) {
	return func(msg string) {
		if logToFile {
			logger.Info(msg)
		}
		fmt.Fprintln(stderr, "spacetui:", msg)
	}
}

func newJoin(std ioSet) *cobra.Command {
	var f joinFlags
	c := &cobra.Command{
		Use:   "join URL",
		Short: "Join a live room (TUI unless --headless)",
		Long: `Join a live room and play it on the sound card.

Room URLs:
  ws://HOST:PORT/rooms/ID      a room on a spacetui server ("spacetui serve" prints them)
  wss://HOST/rooms/ID          the same behind TLS
  livekit://HOST:PORT/ROOM     a LiveKit room (signalling over ws): needs --token, or
                               --api-key and --api-secret to mint a listen-only token
  livekit+wss://HOST/ROOM      the same over TLS
  mumble://[USER@]HOST[:PORT]/CHANNEL
                               a Mumble channel (password: --token; the server's
                               certificate is remembered on first use, --insecure skips it)
  http(s)://HOST/PATH          an audio stream, told apart by what the server answers:
                               Icecast or plain HTTP Ogg Opus or Vorbis, MP3 or AAC;
                               an HLS media or master playlist, an X Space's among them,
                               of MPEG-TS, fMP4 or packed (ADTS AAC, MP3) segments
                               (docs/streams.md)
"spacetui rooms URL" lists a server's rooms where the protocol can.

Keys in the TUI: space or m mute · +/- or 0/9 volume · x mute the selected speaker ·
[/] its volume · tab focus · PgUp/PgDn/Home/End or the wheel scroll the transcript ·
/ search (n/N) · s save the transcript · r retry now · ? help · q quit.

When the server is overloaded or down, spacetui waits and retries with jittered
backoff (honouring Retry-After) and says so on the status line; it never gives up
unless --give-up-after is set. A refusal that retrying cannot fix (room not found,
not authorized, room ended) exits with status 1 and one line saying why.

` + configHelp,
		Example: `  spacetui join ws://127.0.0.1:8080/rooms/demo
  spacetui join ws://127.0.0.1:8080/rooms/demo --headless --json --for 60s
  spacetui join --output null --headless ws://example.org:8080/rooms/town-hall
  spacetui join livekit://127.0.0.1:7880/demo --api-key devkey --api-secret "$LIVEKIT_API_SECRET"
  spacetui join http://radio.example.org:8000/live.mp3
  spacetui join 'https://HOST/.../audio-space/dynamic_playlist.m3u8?type=live'`,
		Args: oneRoomURL("join"),
		RunE: func(c *cobra.Command, args []string) error {
			logger, closeLog, err := f.start(c, std)
			if err != nil {
				return err
			}
			defer closeLog()
			return joinRoom(c.Context(), args[0], &f, std, logger)
		},
	}
	f.register(c)
	return c
}

func newRecord(std ioSet) *cobra.Command {
	f := joinFlags{headless: true, capture: true, output: "null"}
	c := &cobra.Command{
		Use:   "record URL -o DIR",
		Short: "Headless capture: record a room to disk (no TUI, no sound card)",
		Long: `Record a room to DIR without a terminal UI or a sound card, e.g. on a server:

  DIR/audio.ogg              the room mixed (Ogg Opus)
  DIR/tracks/SPEAKER.ogg     each speaker's Opus packets exactly as received, or
  DIR/tracks/SPEAKER.aac     a stream's ADTS AAC frames, or
  DIR/tracks/SPEAKER.mp3     its MP3 frames, exactly as received
  DIR/transcript.vtt         WebVTT captions with <v Speaker> voices
  DIR/transcript.jsonl       every caption segment, partial and final
  DIR/events.jsonl           joins, roster changes, reconnects and gaps (JSON lines)
  DIR/room.json              the room, the start time and the client version

Time 0 is the moment of joining; outages become silence in every file and a logged gap,
so files and captions stay aligned with the room clock. Pages reach the files at least
every 100 ms, so even a kill -9 leaves playable files; SIGINT/SIGTERM finalize cleanly.
A DIR that exists and is not empty is never written into: DIR-2, DIR-3, ... is used
unless --force. Progress goes to stderr every 5 s (JSON "record" events with --json).`,
		Example: `  spacetui record ws://127.0.0.1:8080/rooms/demo -o capture --for 1h
  spacetui record ws://example.org/rooms/town-hall -o /var/lib/spacetui/town-hall --json
  spacetui record livekit+wss://lk.example.org/town-hall --token "$TOKEN" -o town-hall`,
		Args: oneRoomURL("record"),
		RunE: func(c *cobra.Command, args []string) error {
			if f.record == "" {
				return usageError{errors.New("record needs -o DIR")}
			}
			logger, closeLog, err := f.start(c, std)
			if err != nil {
				return err
			}
			defer closeLog()
			return joinRoom(c.Context(), args[0], &f, std, logger)
		},
	}
	fs := c.Flags()
	fs.StringVarP(&f.record, "output", "o", "", "the recording directory")
	fs.DurationVar(&f.forDur, "for", 0, "stop after this long, counted from the first successful join; exit 0")
	fs.BoolVar(&f.json, "json", false, "stdout carries only JSON lines, one event each")
	fs.BoolVar(&f.force, "force", false, "write into DIR even if it is not empty")
	fs.StringVar(&f.logPath, "log", "", "write the log here (default: stderr)")
	fs.DurationVar(&f.giveUpAfter, "give-up-after", 0, "stop with an error after an outage this long (default: never give up)")
	f.dial.register(fs)
	f.volume = 100
	return c
}

// oneRoomURL checks that a command got exactly one room URL of a known scheme.
func oneRoomURL(cmd string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageError{fmt.Errorf("%s takes one room URL, got %d arguments (see spacetui %s --help)", cmd, len(args), cmd)}
		}
		if _, _, err := transport.Lookup(args[0]); err != nil {
			return usageError{err}
		}
		return requireRoom(c.Context(), args[0], c.ErrOrStderr())
	}
}

func newDemo(std ioSet) *cobra.Command {
	var f joinFlags
	c := &cobra.Command{
		Use:   "demo",
		Short: "Start the embedded demo room and join it",
		Long: `Start the embedded demo room (three speakers in a conversation, with live captions)
on a private local server and join it, exactly as "spacetui join" would.`,
		Example: `  spacetui demo
  spacetui demo --headless --for 30s
  spacetui demo --output wav:demo.wav --headless --for 10s`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			logger, closeLog, err := f.start(c, std)
			if err != nil {
				return err
			}
			defer closeLog()
			ctx, cancel := context.WithCancel(c.Context())
			defer cancel()
			srv, err := server.New(server.Config{Logger: logger.With("component", "demo-server")})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return fmt.Errorf("demo server: %w", err)
			}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ctx, ln) }()
			err = joinRoom(ctx, "ws://"+ln.Addr().String()+"/rooms/demo", &f, std, logger)
			cancel()
			<-served
			return err
		},
	}
	f.register(c)
	return c
}

func newServe(std ioSet) *cobra.Command {
	var (
		cfg    server.Config
		rooms  []string
		faults string
	)
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the reference room server",
		Long: `Run the reference server of spacetui's own room protocol (docs/protocol.md).

It hosts the embedded "demo" room unless --no-demo, plus one room per --room flag made
from an Ogg Opus file and, optionally, WebVTT captions whose <v Name> voice tags name
the speakers. Rooms loop forever, paced in real time. Each room's URL is printed at start.

HTTP endpoints: GET /rooms, GET /rooms/ID, WebSocket /rooms/ID, GET /rooms/ID/listen.ogg
(the room mixed live, playable with mpv or ffplay).

Faults to test clients against (--faults, or POST /admin/faults from this machine with
the same comma-separated words; each spec replaces the last):
` + server.FaultHelp(),
		Example: `  spacetui serve
  spacetui serve --addr :8080 --room talk=talk.ogg,talk.vtt --no-demo
  spacetui serve --max-listeners 500
  spacetui serve --admit-rate 200     # a crowd returning after an outage comes back at 200/s
  spacetui serve --faults overload     # then: curl -d none 127.0.0.1:8080/admin/faults`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			for _, r := range rooms {
				spec, err := server.ParseRoomFlag(r)
				if err != nil {
					return usageError{err}
				}
				cfg.Rooms = append(cfg.Rooms, spec)
			}
			f, err := server.ParseFaults(faults)
			if err != nil {
				return usageError{fmt.Errorf("--faults: %w", err)}
			}
			cfg.Faults = f
			cfg.Logger = slog.New(slog.NewTextHandler(std.stderr, nil))
			srv, err := server.New(cfg)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", cfg.Addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
			}
			host := ln.Addr().String()
			if h, port, _ := net.SplitHostPort(host); h == "::" || h == "0.0.0.0" {
				host = net.JoinHostPort("127.0.0.1", port)
			}
			for _, id := range srv.RoomIDs() {
				fmt.Fprintf(std.stdout, "room %-12s ws://%s/rooms/%s\n", id, host, id)
			}
			fmt.Fprintf(std.stdout, "listening on %s (ctrl+c to stop)\n", ln.Addr())
			return srv.Serve(c.Context(), ln)
		},
	}
	fs := c.Flags()
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address to listen on (\":8080\" for every interface)")
	fs.StringArrayVar(&rooms, "room", nil, "host a room: ID=FILE.ogg[,FILE.vtt] (repeatable)")
	fs.BoolVar(&cfg.NoDemo, "no-demo", false, "do not host the embedded demo room")
	fs.IntVar(&cfg.MaxListeners, "max-listeners", 0, "listeners per room before new ones get 503 + Retry-After (0: unlimited)")
	fs.DurationVar(&cfg.ReplayWindow, "replay-window", 30*time.Second, "how much recent audio each room keeps for resuming listeners")
	fs.Float64Var(&cfg.AdmitRate, "admit-rate", 0, "pace the crowd: admit at most this many joins a second, and give each listener\n"+
		"refused for load a waiting-room slot at that rate as its Retry-After (0: no pacing)")
	fs.StringVar(&faults, "faults", "", "fake failures to test clients against, comma-separated (listed above);\n"+
		"switch them at run time with POST /admin/faults from loopback")
	return c
}

func newLoadtest(std ioSet) *cobra.Command {
	var (
		cfg    crowd.LoadtestConfig
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "loadtest URL -n N",
		Short: "Simulate N listeners; report join latency, loss, reconnects",
		Long: `Join a room with N simulated listeners from this one process and measure what they
get. Each listener is a real client connection with its own reconnect policy (the very
one "spacetui join" uses: jittered backoff, Retry-After honoured), so a load test also
shows how a crowd of clients treats a struggling server. Listeners decode nothing and
play nothing, so thousands fit on a small machine.

While it runs, a progress line goes to stderr every second:
   12s  joined 987/1000  live 980 (stalled 0)  reconnecting 7  frames 1.2M  lost 0.01%  attempts/s 3
At the end (after --for, or on ctrl+c) it reports on stdout:
  join latency   p50/p90/p99/max, from a listener's first dial to its first live join
  frames, lost   from the sequence numbers of each speaker's track: a skipped number
                 is lost unless it arrives later; duplicates and late frames apart
  reconnects     how many, how many resumed their session, the gaps reported
  attempts       connection attempts in all, and any made sooner than Retry-After
  outage         attempts per second (peak and mean) over the seconds in which
                 listeners were waiting to reconnect
With --json the report is one JSON object on stdout instead.

Each listener holds one connection, so the open-file limit must exceed N: raise it
first (ulimit -n 65536). Exit status: 0 when the run completed, 1 if any listener
stopped for good (e.g. room not found) or the process ran out of file descriptors.`,
		Example: `  spacetui loadtest ws://127.0.0.1:8080/rooms/demo -n 1000 --for 60s
  spacetui loadtest ws://127.0.0.1:8080/rooms/demo -n 5000 --ramp 20s --for 5m --json > report.json
  # an outage mid-run: in another terminal, restart "spacetui serve" or
  curl -d overload,abruptclose 127.0.0.1:8080/admin/faults; sleep 10; curl -d none 127.0.0.1:8080/admin/faults`,
		Args: oneRoomURL("loadtest"),
		RunE: func(c *cobra.Command, args []string) error {
			switch {
			case cfg.N <= 0:
				return usageError{errors.New("loadtest needs -n N, the number of listeners (1 or more)")}
			case cfg.For < 0 || cfg.Ramp < 0:
				return usageError{errors.New("--for and --ramp take a positive duration")}
			}
			cfg.URL = args[0]
			cfg.Progress = std.stderr
			if !asJSON {
				cfg.Out = std.stdout
			}
			if cfg.Token == "" {
				cfg.Token = os.Getenv("SPACETUI_TOKEN")
			}
			rep, err := crowd.RunLoadtest(c.Context(), cfg)
			if asJSON {
				if jerr := json.NewEncoder(std.stdout).Encode(rep); jerr != nil && err == nil {
					err = jerr
				}
			}
			return err
		},
	}
	fs := c.Flags()
	fs.IntVarP(&cfg.N, "listeners", "n", 0, "how many listeners to simulate")
	fs.DurationVar(&cfg.For, "for", 0, "stop after this long, counted from the start (default: until ctrl+c)")
	fs.DurationVar(&cfg.Ramp, "ramp", 0, "spread the listeners' first joins evenly over this long (default: all at once)")
	fs.BoolVar(&asJSON, "json", false, "print the report as one JSON object instead of a table")
	fs.StringVar(&cfg.Token, "token", "", "access token for the room (default: $SPACETUI_TOKEN)")
	return c
}

func newDevices(std ioSet) *cobra.Command {
	return &cobra.Command{
		Use:   "devices",
		Short: "List audio output devices",
		Long:  `List the audio output devices PortAudio sees; pass a name (or a unique part of it) to --output.`,
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			devs, err := audio.Devices()
			if err != nil {
				return err
			}
			if len(devs) == 0 {
				fmt.Fprintln(std.stdout, "no audio output devices found")
				return nil
			}
			for _, d := range devs {
				fmt.Fprintln(std.stdout, strings.TrimSpace(fmt.Sprint(d)))
			}
			return nil
		},
	}
}
