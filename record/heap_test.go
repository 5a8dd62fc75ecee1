package record

import (
	"runtime"
	"testing"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// TestHeapStaysFlat records 20 simulated minutes of three speakers, captions and a gap
// (on the fake clock, in a few seconds) and fails if the heap grows between minute 2 and
// minute 20: a long capture must not accumulate memory. The hour-long soak of the whole
// program is scripts/soak.sh (docs/soak.md).
func TestHeapStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("long-running; skipped with -short")
	}
	clock := newClock()
	r, err := Open(Options{Dir: t.TempDir(), Force: true, Now: clock.Now, Mixed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pkts := demoPackets(t, 200)
	speakers := []string{"ada", "grace", "linus"}
	r.Event(transport.Roster{Speakers: []transport.Speaker{{ID: "ada", Name: "Ada"}, {ID: "grace", Name: "Grace"}, {ID: "linus", Name: "Linus"}}})
	r.Event(transport.State{State: transport.StateLive})
	heap := func() uint64 {
		r.sync()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	const perMinute = 3000 // 20 ms frames
	var at2 uint64
	for i := 0; i < 20*perMinute; i++ {
		clock.Advance(20 * time.Millisecond)
		sp := speakers[(i/250)%3] // a 5 s turn each
		r.Event(transport.AudioFrame{Codec: transport.CodecOpus, Speaker: sp, Seq: uint32(i), Timestamp: uint32(i * 960), Payload: pkts[i%len(pkts)]})
		r.WriteMixed(pkts[i%len(pkts)])
		if i%250 == 0 {
			id := "c" + string(rune('a'+i%26))
			r.Event(transport.TranscriptSegment{ID: id, Speaker: sp, Start: time.Duration(i) * 20 * time.Millisecond,
				End: time.Duration(i+200) * 20 * time.Millisecond, Text: "Retry storms are the real enemy.", Final: true})
		}
		if i%2048 == 0 {
			r.sync() // keep the queue from overrunning: the disk is not what is measured
		}
		if i == 2*perMinute {
			at2 = heap()
		}
	}
	at20 := heap()
	t.Logf("heap after 2 min %d KiB, after 20 min %d KiB", at2/1024, at20/1024)
	if at20 > at2+512<<10 {
		t.Fatalf("heap grew by %d KiB over 18 simulated minutes", (at20-at2)/1024)
	}
}
