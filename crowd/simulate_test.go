package crowd

import (
	"bytes"
	"context"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// smallNight is a night both this test and a real-socket loadtest can run.
func smallNight() Night {
	n := SeedNight()
	n.Listeners, n.Capacity, n.Outage = 20_000, 1000, 2*time.Minute
	return n
}

func byName(t *testing.T, results []Result) map[string]Result {
	t.Helper()
	m := map[string]Result{}
	for _, r := range results {
		m[r.Policy] = r
	}
	return m
}

// What each policy does to a server that comes back: ours is back well within the bound
// of the crowd issue without a wave, the paced server keeps the returning crowd under
// 1.2 C, a fixed retry hammers, LiveKit's SDK gives up.
func TestSimulateSmallNight(t *testing.T) {
	n := smallNight()
	results, err := Simulate(context.Background(), n, Policies())
	if err != nil {
		t.Fatal(err)
	}
	r := byName(t, results)
	bound := time.Duration(float64(n.Listeners)/n.Capacity*1.5*float64(time.Second)) + transport.DefaultPolicy().OverloadCap
	for _, name := range []string{"spacetui", "spacetui + paced server"} {
		if b := r[name].Back[3]; b < 0 || b > bound {
			t.Errorf("%s: everyone back %v after recovery, want within %v", name, b, bound)
		}
		if r[name].GaveUp != 0 {
			t.Errorf("%s: %d gave up", name, r[name].GaveUp)
		}
	}
	if p := r["spacetui + paced server"].PeakAfterRecovery; p > 1.2*n.Capacity {
		t.Errorf("paced server: %.0f attempts/s after recovery, want at most 1.2 C = %.0f", p, 1.2*n.Capacity)
	}
	if p := r["fixed 10 s"].PeakAfterRecovery; p < 5*n.Capacity {
		t.Errorf("fixed 10 s: peak %.0f attempts/s after recovery; a synchronized crowd should hammer (> 5 C)", p)
	}
	if g := r["livekit sdk"].GaveUp; g < n.Listeners/2 {
		t.Errorf("livekit sdk: %d of %d gave up, want most (10 tries in under 2 minutes)", g, n.Listeners)
	}
	for _, res := range results {
		var sum float64
		for _, v := range res.AttemptsPerSecond {
			sum += v
		}
		if int64(sum) != res.Attempts || res.Wasted > res.Attempts {
			t.Errorf("%s: the curve holds %.0f attempts, the count %d, wasted %d", res.Policy, sum, res.Attempts, res.Wasted)
		}
	}
}

// The same seed gives the same night.
func TestSimulateRepeatable(t *testing.T) {
	n := smallNight()
	n.Listeners = 2000
	a, err := Simulate(context.Background(), n, Policies()[:1])
	if err != nil {
		t.Fatal(err)
	}
	b, err := Simulate(context.Background(), n, Policies()[:1])
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Attempts != b[0].Attempts || a[0].Back != b[0].Back {
		t.Errorf("two runs differ: %d/%v and %d/%v attempts/back", a[0].Attempts, a[0].Back, b[0].Attempts, b[0].Back)
	}
}

// The image is well-formed SVG with a panel per policy (a line of attempts, an area of
// admissions), and the CSV has a row a second.
func TestSimulateOutputs(t *testing.T) {
	n := smallNight()
	n.Listeners = 2000
	results, err := Simulate(context.Background(), n, Policies())
	if err != nil {
		t.Fatal(err)
	}
	var svg bytes.Buffer
	if err := WriteSVG(&svg, n, results); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(svg.Bytes(), new(struct{})); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	lines, areas := strings.Count(svg.String(), "<polyline"), strings.Count(svg.String(), "<polygon")
	if lines != len(results) || areas != len(results) {
		t.Errorf("%d attempt curves and %d admission areas, want %d of each", lines, areas, len(results))
	}
	var csv bytes.Buffer
	if err := WriteCSV(&csv, results); err != nil {
		t.Fatal(err)
	}
	secs := 0
	for _, r := range results {
		secs = max(secs, len(r.AttemptsPerSecond))
	}
	if rows := strings.Count(csv.String(), "\n"); rows != secs+1 {
		t.Errorf("%d CSV rows, want a header and %d seconds", rows, secs)
	}
}
