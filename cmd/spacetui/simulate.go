package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/spacetui/spacetui/crowd"
)

func newSimulate(std ioSet) *cobra.Command {
	n := crowd.SeedNight()
	var svgPath, csvPath string
	var asJSON bool
	c := &cobra.Command{
		Use:   "simulate [flags]",
		Short: "Simulate a crowd of listeners against an overloaded server, per retry policy",
		Long: `Simulate the night a live room collapses: N connected listeners are dropped at once,
the server stays overloaded for a while (holding only a fraction of them and paying for
every refusal), then admits C joins a second again. Each retry policy is run on the same
night, on a virtual clock with no socket per listener, so millions fit in memory:

  spacetui                 the very backoff function "spacetui join" uses
  fixed 10 s               what X Space recorders in the wild do
  livekit sdk              LiveKit's Go SDK: n² x 300 ms, no jitter, 10 tries
  exp no jitter            exponential backoff with the same caps, no jitter
  spacetui + paced server  ours, against a server whose Retry-After is a waiting-room
                           slot at the rate it can admit

The defaults are the seed night: 1.3 M listeners, 20,000 joins/s, 45 minutes of
overload holding 10%, a refusal costing a tenth of a join. It prints, per policy, the
peak and mean attempts a second against C, how long after capacity returned 50, 90, 99
and 100% were back, attempts per listener, who gave up and the wasted (refused)
attempts; --svg draws the curves, --csv writes them, --json prints the results.`,
		Example: `  spacetui simulate --svg night.svg
  spacetui simulate -n 100000 --capacity 2000 --outage 10m --csv night.csv`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if n.Listeners <= 0 || n.Capacity <= 0 || n.Step <= 0 || n.Horizon <= 0 || n.Outage < 0 || n.OutageAt < 0 {
				return usageError{errors.New("simulate: -n, --capacity, --step and --horizon must be positive, --outage and --outage-at not negative")}
			}
			if n.HeldFraction < 0 || n.HeldFraction > 1 || n.RefusalCost < 0 {
				return usageError{errors.New("simulate: --held is a fraction 0-1 and --refusal-cost is not negative")}
			}
			start := time.Now()
			results, err := crowd.Simulate(c.Context(), n, crowd.Policies())
			if err != nil {
				return err
			}
			wall := time.Since(start)
			if svgPath != "" {
				if err := writeFile(svgPath, func(f *os.File) error { return crowd.WriteSVG(f, n, results) }); err != nil {
					return err
				}
			}
			if csvPath != "" {
				if err := writeFile(csvPath, func(f *os.File) error { return crowd.WriteCSV(f, results) }); err != nil {
					return err
				}
			}
			if asJSON {
				return json.NewEncoder(std.stdout).Encode(results)
			}
			crowd.WriteSimTable(std.stdout, n, results)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(std.stdout, "\nsimulated in %s wall time, %.0f MiB from the OS at peak\n", wall.Round(10*time.Millisecond), float64(ms.Sys)/(1<<20))
			return nil
		},
	}
	fs := c.Flags()
	fs.IntVarP(&n.Listeners, "listeners", "n", n.Listeners, "listeners connected when the server collapses")
	fs.Float64Var(&n.Capacity, "capacity", n.Capacity, "joins a second the server can admit (C)")
	fs.DurationVar(&n.OutageAt, "outage-at", n.OutageAt, "when the server collapses")
	fs.DurationVar(&n.Outage, "outage", n.Outage, "how long it stays overloaded")
	fs.Float64Var(&n.HeldFraction, "held", n.HeldFraction, "the fraction of listeners the overloaded server holds")
	fs.Float64Var(&n.RefusalCost, "refusal-cost", n.RefusalCost, "what answering a refused attempt costs, in joins")
	fs.DurationVar(&n.Horizon, "horizon", n.Horizon, "stop this long after the outage if not everyone is back")
	fs.DurationVar(&n.Step, "step", n.Step, "the virtual clock's resolution")
	fs.Uint64Var(&n.Seed, "seed", n.Seed, "random seed (the same seed gives the same night)")
	fs.StringVar(&svgPath, "svg", "", "draw attempts/s and admitted/s over time into this SVG file")
	fs.StringVar(&csvPath, "csv", "", "write the curves, a row a second, into this CSV file")
	fs.BoolVar(&asJSON, "json", false, "print the results as JSON instead of a table")
	return c
}

// writeFile creates path and writes it with fill, reporting either failure.
func writeFile(path string, fill func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
