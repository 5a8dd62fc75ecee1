//go:build cgo

package audio

import (
	"sync"
	"testing"
)

// testRing returns a ring of n samples that is freed when the test ends.
func testRing(t *testing.T, n int) *ring {
	t.Helper()
	q, err := newRing(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.free)
	return q
}

func TestRing(t *testing.T) {
	q := testRing(t, 6) // rounds up to 8
	out := make([]int16, 4)
	q.read(out)
	if q.underruns() != 0 {
		t.Fatal("an underrun before anything was written")
	}
	if n := q.write([]int16{1, 2, 3, 4, 5, 6, 7, 8, 9}); n != 8 {
		t.Fatalf("wrote %d into a ring of 8", n)
	}
	q.read(out)
	if out[0] != 1 || out[3] != 4 || q.buffered() != 4 {
		t.Fatalf("read %v, %d left", out, q.buffered())
	}
	q.write([]int16{9, 10, 11}) // wraps
	big := make([]int16, 10)
	q.read(big)
	want := []int16{5, 6, 7, 8, 9, 10, 11, 0, 0, 0}
	for i := range want {
		if big[i] != want[i] {
			t.Fatalf("read %v, want %v", big, want)
		}
	}
	if q.underruns() != 1 {
		t.Fatalf("underruns = %d, want 1", q.underruns())
	}
}

// TestRingConcurrent moves a counting sequence through the ring from one goroutine to
// another; under -race it also checks the atomics order the copies.
func TestRingConcurrent(t *testing.T) {
	q := testRing(t, 64)
	const total = 200000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]int16, 7)
		v := 0
		for v < total {
			n := 0
			for n < len(buf) && v+n < total {
				buf[n] = int16(v + n)
				n++
			}
			w := q.write(buf[:n])
			v += w
		}
	}()
	out := make([]int16, 5)
	next := 0
	for next < total {
		avail := min(q.buffered(), len(out))
		if avail == 0 {
			continue
		}
		q.read(out[:avail])
		for _, s := range out[:avail] {
			if s != int16(next) {
				t.Fatalf("got %d, want %d", s, int16(next))
			}
			next++
		}
	}
	wg.Wait()
}
