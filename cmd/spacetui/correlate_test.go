package main

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// fft is an in-place iterative radix-2 FFT; len(a) must be a power of two.
func fft(a []complex128, inverse bool) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		ang := 2 * math.Pi / float64(size)
		if !inverse {
			ang = -ang
		}
		w := cmplx.Rect(1, ang)
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := 0; k < size/2; k++ {
				u, v := a[start+k], a[start+k+size/2]*wk
				a[start+k], a[start+k+size/2] = u+v, u-v
				wk *= w
			}
		}
	}
	if inverse {
		for i := range a {
			a[i] /= complex(float64(n), 0)
		}
	}
}

// bestLag returns the lag L in [0, len(c)-len(r)] maximising sum r[i]*c[i+L].
func bestLag(r, c []float64) int {
	n := 1
	for n < len(r)+len(c) {
		n <<= 1
	}
	A := make([]complex128, n)
	B := make([]complex128, n)
	for i, v := range c {
		A[i] = complex(v, 0)
	}
	for i, v := range r {
		B[i] = complex(v, 0)
	}
	fft(A, false)
	fft(B, false)
	for i := range A {
		A[i] *= cmplx.Conj(B[i])
	}
	fft(A, true)
	best, bestV := 0, math.Inf(-1)
	for l := 0; l <= len(c)-len(r); l++ {
		if v := real(A[l]); v > bestV {
			best, bestV = l, v
		}
	}
	return best
}

// normCorr is the normalized correlation of r and c (same length).
func normCorr(r, c []float64) float64 {
	var rc, rr, cc float64
	for i := range r {
		rc += r[i] * c[i]
		rr += r[i] * r[i]
		cc += c[i] * c[i]
	}
	if rr == 0 || cc == 0 {
		return 0
	}
	return rc / math.Sqrt(rr*cc)
}

// alignedCorrelation compares what was played (captured) with what was sent (ref). It
// finds where ref sits in captured (ref may start before the capture: the player joined
// later than the reference listener), then, because an adaptive jitter buffer may
// legitimately shift its delay between talkspurts, re-aligns each window of ref within
// +/- slack of that offset. It returns the energy-weighted mean of the windows'
// normalized correlations, over the windows where ref has speech and the capture covers
// them.
func alignedCorrelation(ref, captured []float64, window, slack int) (corr float64, windows int) {
	lead := len(ref)
	padded := make([]float64, lead, 2*lead+len(captured))
	padded = append(padded, captured...)
	padded = append(padded, make([]float64, lead)...)
	offset := bestLag(ref, padded) - lead // where ref[0] falls in captured
	var energyMax float64
	energies := make([]float64, 0, len(ref)/window)
	for w := 0; w+window <= len(ref); w += window {
		var e float64
		for _, v := range ref[w : w+window] {
			e += v * v
		}
		energies = append(energies, e)
		energyMax = max(energyMax, e)
	}
	var sum, weight float64
	for i, e := range energies {
		w := i * window
		start := w + offset
		if e < energyMax/20 || start < 0 || start+window > len(captured) {
			continue // a pause, or not played while we captured: nothing to compare
		}
		lo := max(0, start-slack)
		hi := min(len(captured), start+window+slack)
		seg := captured[lo:hi]
		l := bestLag(ref[w:w+window], seg)
		sum += e * normCorr(ref[w:w+window], seg[l:l+window])
		weight += e
		windows++
	}
	if weight == 0 {
		return 0, 0
	}
	return sum / weight, windows
}

// The comparison itself must be able to fail: a delayed noisy copy correlates, unrelated
// audio does not.
func TestAlignedCorrelation(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	ref := make([]float64, 48000*3)
	for i := range ref {
		// Speech-like: bursts of a few tones with pauses.
		if (i/12000)%2 == 0 {
			x := float64(i) / 48000
			ref[i] = math.Sin(2*math.Pi*220*x) + 0.5*math.Sin(2*math.Pi*1330*x+rnd.Float64()*0.01) + 0.3*rnd.NormFloat64()
		}
	}
	delayed := make([]float64, 5000, len(ref)+5000)
	for _, v := range ref {
		delayed = append(delayed, 0.8*v+0.05*rnd.NormFloat64())
	}
	if c, n := alignedCorrelation(ref, delayed, 24000, 2400); c < 0.95 || n < 4 {
		t.Fatalf("delayed copy: correlation %.3f over %d windows, want > 0.95", c, n)
	}
	// The player joined later: the capture starts 1.3 s into ref.
	late := delayed[5000+62400:]
	if c, n := alignedCorrelation(ref, late, 24000, 2400); c < 0.95 || n < 2 {
		t.Fatalf("late copy: correlation %.3f over %d windows, want > 0.95", c, n)
	}
	other := make([]float64, len(delayed))
	for i := range other {
		other[i] = rnd.NormFloat64()
	}
	if c, _ := alignedCorrelation(ref, other, 24000, 2400); c > 0.3 {
		t.Fatalf("unrelated audio: correlation %.3f, want < 0.3", c)
	}
}
