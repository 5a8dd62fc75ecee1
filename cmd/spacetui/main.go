// Command spacetui is a terminal client for live audio rooms. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && listens(os.Args[1]) && os.Getenv("GOMAXPROCS") == "" {
		// A listener does one room's work, a few percent of a core: on one P the
		// runtime wakes fewer threads to hand it around, which is most of what it costs
		// (headless 25-30% less CPU, the TUI 5-15%: docs/benchmarks.md). The server,
		// the load tester and the simulator keep every core; GOMAXPROCS set by the
		// user wins.
		runtime.GOMAXPROCS(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// listens reports whether the command is one that listens to a room: join, record.
func listens(command string) bool { return command == "join" || command == "record" }
