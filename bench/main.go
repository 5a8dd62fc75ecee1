// Command bench measures what spacetui costs beside the players a user would pick
// instead: the CPU (percent of one core) and peak memory of `join --headless`, the TUI at
// 80x24 and 200x50 (under tmux) and `record`, against ffplay and mpv playing the same
// room's listen.ogg, all into the same PulseAudio sink, interleaved run by run so that
// a busy machine skews them alike; the PulseAudio daemon's CPU beside each; and the Go
// benchmarks of the hot paths. It prints one table (docs/benchmarks.md keeps a real run).
//
// Then it times `join --headless`, ffplay and mpv on a clicks room (latency.go): time to
// first audio, mouth-to-ear latency with PulseAudio's share read from pactl, and bursts
// cut, stretched or lost. It exits 1 if spacetui altered or lost a burst: a correction
// or an underrun inside sound is a bug, whatever the timings. Last, the same three play
// the clicks as the streams of issue 12 (streams.go): an X Space's kind of HLS and an
// Icecast MP3 mount, for CPU, memory and first audio. Then the reference server carries
// a quarter of its capacity (server.go) and the run fails if it skipped a tick.
//
//	go run ./bench [-duration 60s] [-latency 30s] [-runs 3] [-only cpu,clicks,streams,server,go] [-spacetui BIN]
//
// make bench runs every phase; make bench-short, in CI, runs them briefly. -only runs
// the phases named, to measure one cut again without the rest; -spacetui measures a
// binary built elsewhere (another commit), for before and after.
//
// It needs the README's set-up (scripts/setup.sh --test, which brings ffplay; mpv with
// --bench) and a running sound server (scripts/pulse-null.sh). A player that is missing is
// reported as such, never silently left out.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

// subject is one thing measured: how to start it, given the room URL and a scratch dir.
type subject struct {
	name   string
	need   string // the program it needs on PATH, if any
	player bool   // plays any URL: also timed on the clicks room (latency.go) and the streams (streams.go)
	ours   bool   // spacetui, not a reference player
	start  func(b *bench, t target, dir string) (pid int, stop func(), err error)
}

// target is a room as spacetui joins it and as a plain player plays it.
type target struct{ room, listen string }

// sample is one measurement of one subject.
type sample struct {
	cpu, pulseCPU float64 // percent of one core
	rssMiB        float64
}

type bench struct {
	bin          string
	serverPID    int // the reference server the harness started
	demo, clicks target
	duration     time.Duration
	latencyFor   time.Duration // each run on the clicks room and on a stream
}

func main() {
	duration := flag.Duration("duration", 60*time.Second, "how long each subject runs")
	latency := flag.Duration("latency", 30*time.Second, "how long each player runs on the clicks room and on each stream")
	crowd := flag.Int("crowd", 1250, "listeners the server must carry without skipping a tick (a quarter of its capacity here)")
	runs := flag.Int("runs", 3, "interleaved runs; the table shows medians")
	bin := flag.String("spacetui", "", "measure this spacetui binary instead of building one from this tree (to compare builds)")
	only := flag.String("only", strings.Join(phases, ","), "the phases to run, comma-separated: "+strings.Join(phases, ", "))
	flag.Parse()
	want, err := parsePhases(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(*bin, *duration, *latency, *crowd, *runs, want, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// phases are the harness's parts, in the order it runs them: the CPU table on the demo
// room, the clicks room's latency, the streams, the server under a crowd, the Go
// benchmarks.
var phases = []string{"cpu", "clicks", "streams", "server", "go"}

// parsePhases reads -only: a comma-separated subset of phases.
func parsePhases(list string) (map[string]bool, error) {
	want := map[string]bool{}
	for p := range strings.SplitSeq(list, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(phases, p) {
			return nil, fmt.Errorf("-only: unknown phase %q (the phases: %s)", p, strings.Join(phases, ", "))
		}
		want[p] = true
	}
	return want, nil
}

func run(bin string, duration, latency time.Duration, crowd, runs int, want map[string]bool, out io.Writer) error {
	dir, err := os.MkdirTemp("", "spacetui-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{bin: bin, duration: duration, latencyFor: latency}
	if bin == "" {
		b.bin = filepath.Join(dir, "spacetui")
		fmt.Fprintln(out, "building spacetui ...")
		if err := command("go", "build", "-buildvcs=auto", "-o", b.bin, "./cmd/spacetui").Run(); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	clicks, err := makeClicks(dir)
	if err != nil {
		return err
	}
	addr, stopServer, err := b.startServer("--room", "clicks="+clicks)
	if err != nil {
		return err
	}
	defer stopServer()
	room := func(id string) target {
		return target{room: "ws://" + addr + "/rooms/" + id, listen: "http://" + addr + "/rooms/" + id + "/listen.ogg"}
	}
	b.demo, b.clicks = room("demo"), room("clicks")

	subjects := b.subjects()
	missing := map[string]string{}
	present := func(s subject) bool {
		if s.need == "" {
			return true
		}
		if _, err := exec.LookPath(s.need); err != nil {
			missing[s.name] = s.need + " is not installed"
			return false
		}
		return true
	}
	if want["cpu"] {
		results := map[string][]sample{}
		for r := range runs {
			for _, s := range subjects {
				if !present(s) {
					continue
				}
				fmt.Fprintf(out, "run %d/%d: %s for %s\n", r+1, runs, s.name, duration)
				sm, err := b.measure(s, b.demo, dir, b.duration)
				if err != nil {
					missing[s.name] = err.Error()
					continue
				}
				results[s.name] = append(results[s.name], sm)
			}
		}
		fmt.Fprintln(out)
		printTable(out, subjects, results, missing, duration, runs)
		fmt.Fprintln(out)
	}

	var failed error
	if want["clicks"] {
		timed, err := b.latencyRuns(subjects, present, runs, dir, out)
		if err != nil {
			return err
		}
		fmt.Fprintln(out)
		printLatency(out, subjects, timed, missing, latency, runs)
		failed = checkLatency(subjects, timed)
		fmt.Fprintln(out)
	}

	if want["streams"] {
		streamed, names := b.streamRuns(subjects, present, runs, dir, clicks, missing, out)
		fmt.Fprintln(out)
		printStreams(out, names, streamed, missing, latency, runs)
		fmt.Fprintln(out)
	}

	if want["server"] {
		cr, err := b.crowd(crowd, max(10*time.Second, min(duration, 30*time.Second)))
		if err != nil {
			return err
		}
		failed = errors.Join(failed, printCrowd(out, cr))
	}
	if !want["go"] {
		return failed
	}
	fmt.Fprintln(out, "\nGo benchmarks (hot paths):")
	bench := command("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "200ms",
		"./audio/", "./ui/", "./ui/components/transcript/")
	bench.Stdout, bench.Stderr = out, out
	return errors.Join(bench.Run(), failed)
}

func command(name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = append(os.Environ(), "GOFLAGS=")
	return c
}

// startServer starts `spacetui serve` on a free loopback port and waits for it.
func (b *bench) startServer(args ...string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := exec.Command(b.bin, append([]string{"serve", "--addr", addr}, args...)...)
	if err := srv.Start(); err != nil {
		return "", nil, err
	}
	b.serverPID = srv.Process.Pid
	stop := func() { _ = srv.Process.Kill(); _ = srv.Wait() }
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, errors.New("the server did not start")
}

func (b *bench) subjects() []subject {
	plain := func(args func(t target, dir string) []string) func(*bench, target, string) (int, func(), error) {
		return func(b *bench, t target, dir string) (int, func(), error) {
			a := args(t, dir)
			c := exec.Command(a[0], a[1:]...)
			if err := c.Start(); err != nil {
				return 0, nil, err
			}
			return c.Process.Pid, func() { _ = c.Process.Signal(syscall.SIGTERM); waitOrKill(c) }, nil
		}
	}
	tui := func(w, h int) func(*bench, target, string) (int, func(), error) {
		return func(b *bench, t target, dir string) (int, func(), error) {
			session := fmt.Sprintf("spacetui-bench-%d-%dx%d", os.Getpid(), w, h)
			err := exec.Command("tmux", "new-session", "-d", "-s", session, "-x", strconv.Itoa(w), "-y", strconv.Itoa(h),
				"exec "+b.bin+" join "+t.room+" --log "+filepath.Join(dir, "tui.log")).Run()
			if err != nil {
				return 0, nil, fmt.Errorf("tmux: %w", err)
			}
			stop := func() { _ = exec.Command("tmux", "kill-session", "-t", session).Run() }
			outp, err := exec.Command("tmux", "list-panes", "-t", session, "-F", "#{pane_pid}").Output()
			if err != nil {
				stop()
				return 0, nil, err
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(outp)))
			if err != nil {
				stop()
				return 0, nil, err
			}
			return pid, stop, nil
		}
	}
	return []subject{
		{name: "join --headless", player: true, ours: true, start: plain(func(t target, _ string) []string {
			return []string{b.bin, "join", t.room, "--headless"}
		})},
		{name: "TUI 80x24", need: "tmux", start: tui(80, 24)},
		{name: "TUI 200x50", need: "tmux", start: tui(200, 50)},
		{name: "record", start: plain(func(t target, dir string) []string {
			return []string{b.bin, "record", t.room, "-o", filepath.Join(dir, "rec"), "--force"}
		})},
		{name: "ffplay", need: "ffplay", player: true, start: plain(func(t target, _ string) []string {
			return []string{"ffplay", "-nodisp", "-loglevel", "quiet", t.listen}
		})},
		{name: "mpv", need: "mpv", player: true, start: plain(func(t target, _ string) []string {
			return []string{"mpv", "--no-video", "--really-quiet", "--no-config", t.listen}
		})},
	}
}

// measure runs s for the duration and reads its CPU time and peak RSS from /proc just
// before stopping it, with the PulseAudio daemon's CPU over the same window.
func (b *bench) measure(s subject, t target, dir string, d time.Duration) (sample, error) {
	pulse := pulsePID()
	pulse0 := cpuTicks(pulse)
	pid, stop, err := s.start(b, t, dir)
	if err != nil {
		return sample{}, err
	}
	defer stop()
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	<-ctx.Done()
	ticks := cpuTicks(pid)
	rss := peakRSS(pid)
	wall := time.Since(t0).Seconds()
	if ticks < 0 {
		return sample{}, errors.New("it exited before the end of the run")
	}
	sm := sample{cpu: 100 * float64(ticks) / clockTicks / wall, rssMiB: rss}
	if pulse > 0 {
		sm.pulseCPU = 100 * float64(cpuTicks(pulse)-pulse0) / clockTicks / wall
	}
	return sm, nil
}

func waitOrKill(c *exec.Cmd) {
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.Process.Kill()
		<-done
	}
}

// cpuTicks is utime+stime of pid from /proc/PID/stat; -1 when it is gone.
func cpuTicks(pid int) int64 {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// Fields after the command name, which may hold spaces, in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// peakRSS is VmHWM of pid in MiB.
func peakRSS(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// pulsePID finds the PulseAudio daemon that serves this session ($XDG_RUNTIME_DIR/pulse/pid),
// or 0.
func pulsePID() int {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(dir, "pulse", "pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// medianOf is the median of f over runs.
func medianOf[T any](runs []T, f func(T) float64) float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	return median(v)
}

func printTable(out io.Writer, subjects []subject, results map[string][]sample, missing map[string]string, d time.Duration, runs int) {
	pick := func(name string, f func(sample) float64) float64 { return medianOf(results[name], f) }
	cpu := func(s sample) float64 { return s.cpu }
	ffplay, mpv := pick("ffplay", cpu), pick("mpv", cpu)
	fmt.Fprintf(out, "medians of %d interleaved runs of %s each; CPU in %% of one core\n", runs, d)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "subject\tCPU %\tvs ffplay\tvs mpv\tpeak RSS MiB\tPulseAudio CPU %\t")
	for _, s := range subjects {
		if len(results[s.name]) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\n", s.name, "not measured: "+missing[s.name])
			continue
		}
		c := pick(s.name, cpu)
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%s\t%.1f\t%.2f\t\n", s.name, c, ratio(c, ffplay), ratio(c, mpv),
			pick(s.name, func(s sample) float64 { return s.rssMiB }), pick(s.name, func(s sample) float64 { return s.pulseCPU }))
	}
	_ = tw.Flush()
}

// ratio is x as a multiple of ref, for the tables.
func ratio(x, ref float64) string {
	if ref == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", x/ref)
}
