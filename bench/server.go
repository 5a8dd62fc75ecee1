package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The reference server under a crowd it should carry with ease: the harness runs
// `spacetui loadtest` against the demo room with a quarter of the capacity measured on
// this machine (docs/benchmarks.md, "Server capacity": every tick sent to about 5,000
// listeners) and fails if the room skipped a single tick meanwhile. Capacity itself takes
// minutes of a quiet machine to measure; docs/benchmarks.md says how.

// crowdRun is what the server did under the crowd.
type crowdRun struct {
	listeners     int
	seconds       float64
	skipped       int64   // ticks the room skipped during the run
	serverCPU     float64 // percent of one core
	lostPct       float64 // frames the listeners counted lost
	joined, alive int
}

// roomSkipped reads the demo room's skipped_ticks from GET /rooms/demo.
func roomSkipped(roomURL string) (int64, error) {
	u := strings.Replace(roomURL, "ws://", "http://", 1)
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var info struct {
		SkippedTicks *int64 `json:"skipped_ticks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.SkippedTicks == nil {
		return 0, fmt.Errorf("GET %s: no skipped_ticks (%v)", u, err)
	}
	return *info.SkippedTicks, nil
}

// crowd runs n listeners on the demo room for d and reads what the server skipped and
// spent.
func (b *bench) crowd(n int, d time.Duration) (crowdRun, error) {
	before, err := roomSkipped(b.demo.room)
	if err != nil {
		return crowdRun{}, err
	}
	cpu0 := cpuTicks(b.serverPID)
	t0 := time.Now()
	lt := exec.Command(b.bin, "loadtest", b.demo.room, "-n", strconv.Itoa(n), "--ramp", "2s",
		"--for", d.String(), "--json")
	out, err := lt.Output()
	wall := time.Since(t0).Seconds()
	if err != nil {
		return crowdRun{}, fmt.Errorf("loadtest: %w", err)
	}
	var rep struct {
		Joined    int `json:"joined"`
		LiveAtEnd int `json:"live_at_end"`
		Frames    struct {
			Received int64 `json:"received"`
			Lost     int64 `json:"lost"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return crowdRun{}, fmt.Errorf("loadtest report: %w", err)
	}
	after, err := roomSkipped(b.demo.room)
	if err != nil {
		return crowdRun{}, err
	}
	r := crowdRun{listeners: n, seconds: wall, skipped: after - before, joined: rep.Joined, alive: rep.LiveAtEnd,
		serverCPU: 100 * float64(cpuTicks(b.serverPID)-cpu0) / clockTicks / wall}
	if total := rep.Frames.Received + rep.Frames.Lost; total > 0 {
		r.lostPct = 100 * float64(rep.Frames.Lost) / float64(total)
	}
	return r, nil
}

// printCrowd prints the crowd's line and fails on a skipped tick or a listener lost.
func printCrowd(out io.Writer, r crowdRun) error {
	fmt.Fprintf(out, "server: %d listeners on the demo room for %.0f s: %d joined, %d live at the end, "+
		"ticks skipped %d, frames lost %.2f%%, server CPU %.1f%% of one core (%.0f µs per listener-second)\n",
		r.listeners, r.seconds, r.joined, r.alive, r.skipped, r.lostPct, r.serverCPU,
		r.serverCPU/100*1e6/float64(r.listeners))
	switch {
	case r.skipped > 0:
		return fmt.Errorf("the server skipped %d ticks with %d listeners, a quarter of its capacity", r.skipped, r.listeners)
	case r.alive < r.listeners:
		return fmt.Errorf("%d of %d listeners were not live at the end", r.listeners-r.alive, r.listeners)
	}
	return nil
}
