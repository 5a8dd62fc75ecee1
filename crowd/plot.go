package crowd

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Plot geometry: one panel per policy, stacked, sharing the time axis.
const (
	plotW, panelH    = 960, 130
	marginL, marginR = 70, 20
	marginT, rowGap  = 66, 34
)

var plotColors = []string{"#1f77b4", "#d62728", "#ff7f0e", "#9467bd", "#2ca02c", "#8c564b"}

// WriteSVG draws the night as small multiples, a panel per policy on the same axes:
// attempts per second as a line and admissions per second as a green area, on a log
// scale, with the server's capacity dashed and the overload shaded.
func WriteSVG(w io.Writer, n Night, results []Result) error {
	bw := bufio.NewWriter(w)
	secs := 1
	peak := n.Capacity
	for _, r := range results {
		secs = max(secs, len(r.AttemptsPerSecond))
		for _, v := range r.AttemptsPerSecond {
			peak = max(peak, v)
		}
	}
	top := math.Pow(10, math.Ceil(math.Log10(peak)))
	height := marginT + len(results)*(panelH+rowGap) + 30
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", plotW, height)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="20" font-size="15" font-weight="bold">%s listeners · capacity %s joins/s · %s of overload</text>`+"\n",
		marginL, si(int64(n.Listeners)), si(int64(n.Capacity)), n.Outage)
	x := func(s float64) float64 { return marginL + s/float64(secs)*(plotW-marginL-marginR) }
	o0, o1 := x(n.OutageAt.Seconds()), x((n.OutageAt + n.Outage).Seconds())
	for i, r := range results {
		y0 := float64(marginT + i*(panelH+rowGap))
		y := func(v float64) float64 { return y0 + panelH - math.Log10(max(v, 1))/math.Log10(top)*panelH }
		color := plotColors[i%len(plotColors)]
		fmt.Fprintf(bw, `<rect x="%.1f" y="%.0f" width="%.1f" height="%d" fill="#f6e6e6"/>`+"\n", o0, y0, o1-o0, panelH)
		fmt.Fprintf(bw, `<rect x="%d" y="%.0f" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", marginL, y0, plotW-marginL-marginR, panelH)
		fmt.Fprintf(bw, `<text x="%d" y="%.0f"><tspan font-weight="bold" fill="%s">%s</tspan>  %s</text>`+"\n",
			marginL, y0-7, color, html.EscapeString(r.Policy), html.EscapeString(summary(r)))
		for v := 1.0; v <= top; v *= 100 {
			fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", marginL-6, y(v)+4, si(int64(v)))
		}
		area(bw, r.AdmittedPerSecond, x, y, y0+panelH)
		polyline(bw, r.AttemptsPerSecond, x, y, color)
		cy := y(n.Capacity)
		fmt.Fprintf(bw, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#000" stroke-dasharray="6,4"/>`+"\n", marginL, plotW-marginR, cy, cy)
	}
	fmt.Fprintf(bw, `<text x="%d" y="38" fill="#555">line: attempts/s · green: admitted/s · log scale · dashed: capacity · shaded: overload</text>`+"\n", marginL)
	stepMin := max(int(math.Ceil(float64(secs)/60/12/5))*5, 5)
	for m := 0; m*60 <= secs; m += stepMin {
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%d min</text>`+"\n", x(float64(m*60)), height-12, m)
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

// summary is a panel's caption: how the crowd came back.
func summary(r Result) string {
	back := "not everyone back by the horizon"
	if r.Back[3] >= 0 {
		back = "everyone back " + r.Back[3].Round(time.Second).String() + " after recovery"
	}
	s := fmt.Sprintf("%s · %s attempts wasted · peak after recovery %s/s", back, si(r.Wasted), si(int64(r.PeakAfterRecovery)))
	if r.GaveUp > 0 {
		s += fmt.Sprintf(" · %s gave up", si(int64(r.GaveUp)))
	}
	return s
}

// area fills under a curve down to base: the admissions.
func area(w io.Writer, v []float64, x, y func(float64) float64, base float64) {
	var b strings.Builder
	fmt.Fprintf(&b, "%.1f,%.1f ", x(0), base)
	forEachPoint(v, func(i int, p float64) { fmt.Fprintf(&b, "%.1f,%.1f ", x(float64(i)), y(p)) })
	fmt.Fprintf(&b, "%.1f,%.1f", x(float64(len(v))), base)
	fmt.Fprintf(w, `<polygon fill="#2ca02c" fill-opacity="0.35" stroke="none" points="%s"/>`+"\n", b.String())
}

// maxPoints bounds the points of one curve; more seconds are drawn as the peak of each
// group, so no spike is lost and the file stays small.
const maxPoints = 1200

// forEachPoint calls f for each point to draw: a point a second, or the peak of each
// group of seconds.
func forEachPoint(v []float64, f func(i int, p float64)) {
	group := max((len(v)+maxPoints-1)/maxPoints, 1)
	for i := 0; i < len(v); i += group {
		f(i, slices.Max(v[i:min(i+group, len(v))]))
	}
}

// polyline draws one curve.
func polyline(w io.Writer, v []float64, x, y func(float64) float64, color string) {
	var b strings.Builder
	forEachPoint(v, func(i int, p float64) { fmt.Fprintf(&b, "%.1f,%.1f ", x(float64(i)), y(p)) })
	fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="1.5" stroke-opacity="0.85" points="%s"/>`+"\n", color, b.String())
}

// WriteCSV writes the curves: one row a second, two columns per policy.
func WriteCSV(w io.Writer, results []Result) error {
	cw := csv.NewWriter(w)
	head := []string{"second"}
	rows := 0
	for _, r := range results {
		head = append(head, r.Policy+" attempts/s", r.Policy+" admitted/s")
		rows = max(rows, len(r.AttemptsPerSecond))
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	at := func(v []float64, i int) string {
		if i < len(v) {
			return strconv.FormatFloat(v[i], 'f', -1, 64)
		}
		return "0"
	}
	for i := range rows {
		row := []string{strconv.Itoa(i)}
		for _, r := range results {
			row = append(row, at(r.AttemptsPerSecond, i), at(r.AdmittedPerSecond, i))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteSimTable prints the comparison, a row per policy.
func WriteSimTable(w io.Writer, n Night, results []Result) {
	fmt.Fprintf(w, "%s listeners, capacity %s joins/s, overload %s holding %.0f%%, a refusal costs %.2f of a join\n\n",
		si(int64(n.Listeners)), si(int64(n.Capacity)), n.Outage, 100*n.HeldFraction, n.RefusalCost)
	fmt.Fprintf(w, "%-24s %13s %13s %16s %32s %18s %8s %8s\n", "policy", "peak att/s", "mean att/s", "peak after recov",
		"back after recovery 50/90/99/100%", "attempts p50/p99/max", "gave up", "wasted")
	for _, r := range results {
		var back []string
		for _, d := range r.Back {
			if d < 0 {
				back = append(back, "never")
			} else {
				back = append(back, d.Round(time.Second).String())
			}
		}
		a := r.AttemptsPerListener
		fmt.Fprintf(w, "%-24s %13s %13s %16s %32s %18s %8d %8s\n", r.Policy,
			fmt.Sprintf("%s (%.1fC)", si(int64(r.PeakAttempts)), r.PeakAttempts/n.Capacity),
			fmt.Sprintf("%s (%.1fC)", si(int64(r.MeanAttempts)), r.MeanAttempts/n.Capacity),
			fmt.Sprintf("%s (%.1fC)", si(int64(r.PeakAfterRecovery)), r.PeakAfterRecovery/n.Capacity),
			strings.Join(back, " / "), fmt.Sprintf("%d/%d/%d", a.P50, a.P99, a.Max), r.GaveUp, si(r.Wasted))
	}
}
