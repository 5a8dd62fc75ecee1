package httpstream

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/fakeclock"
	"github.com/spacetui/spacetui/internal/streamtest"
	"github.com/spacetui/spacetui/transport"
)

// FuzzICY: whatever the server interleaves, the reader returns no more bytes than it
// was sent, its titles are clean and bounded, and it ends.
func FuzzICY(f *testing.F) {
	f.Add([]byte("abcd\x02StreamTitle='a';\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00efgh\x00ijkl"), uint16(4))
	f.Add([]byte("ab\xffStreamTitle='"), uint16(2))
	f.Add(withICY(bytes.Repeat([]byte("x"), 100), 10, func(i int) string { return "T" + string(rune('a'+i)) }), uint16(10))
	f.Fuzz(func(t *testing.T, in []byte, metaint uint16) {
		if metaint == 0 {
			return
		}
		r := newICYReader(bytes.NewReader(in), int(metaint))
		out, _ := io.ReadAll(r)
		if len(out) > len(in) {
			t.Fatalf("%d bytes out of %d in", len(out), len(in))
		}
		if len(r.titles) > maxTitles {
			t.Fatalf("%d titles waiting", len(r.titles))
		}
		title, _ := r.takeTitle(0)
		if title != transport.Sanitize(title, transport.MaxNameRunes) {
			t.Fatalf("title %q not clean", title)
		}
	})
}

// FuzzOggStream: whatever a server sends as an Ogg stream, Opus or Vorbis (with ICY
// metadata or without), the Conn returns clean events and then an error or the end; it
// never panics, hangs or lets the room clock go back.
func FuzzOggStream(f *testing.F) {
	chained := append(oggStream(f, 1, 30, "TITLE=a"), oggStream(f, 2, 30, "TITLE=b")...)
	f.Add(chained, uint16(0))
	f.Add(withICY(chained, 100, func(i int) string { return "t" }), uint16(100))
	f.Add(oggStream(f, 7, 5)[:200], uint16(0))
	vorbis := append(readES(f, "vorbis-44k-first.ogg"), readES(f, "vorbis-22k-second.ogg")...)
	f.Add(vorbis, uint16(0))
	f.Add(withICY(vorbis, 1000, func(i int) string { return "v" }), uint16(1000))
	f.Fuzz(func(t *testing.T, in []byte, metaint uint16) {
		var src io.Reader = bytes.NewReader(in)
		var icy *icyReader
		if metaint > 0 {
			icy = newICYReader(src, int(metaint))
			src = icy
		}
		br := bufio.NewReaderSize(src, bufferSize)
		clk := fakeclock.New(time.Unix(0, 0))
		r, err := newOggReader(br, slog.New(slog.DiscardHandler))
		if err != nil {
			return
		}
		c := newStreamConn(br, r, icy, newWatchdog(io.NopCloser(nil), time.Minute), func() {},
			streamInfo{room: "r", id: "s", finite: true}, kept{origin: clk.Now()}, clk)
		var last transport.AudioFrame
		for i := 0; ; i++ {
			if i > len(in)+10 {
				t.Fatalf("more events (%d) than bytes in", i)
			}
			ev, err := c.Recv(context.Background())
			if err != nil {
				return
			}
			if !reflect.DeepEqual(transport.Clean(ev), ev) {
				t.Fatalf("event not clean: %#v", ev)
			}
			switch e := ev.(type) {
			case transport.Ended:
				return
			case transport.AudioFrame:
				if (e.Codec == transport.CodecVorbis) != (e.Setup != nil) {
					t.Fatalf("a %s frame with a Setup of %d bytes", e.Codec, len(e.Setup))
				}
				if last.Seq != 0 && (e.Seq != last.Seq+1 || int32(e.Timestamp-last.Timestamp) < int32(last.Duration*sampleRate/time.Second)) {
					t.Fatalf("frame seq %d ts %d after seq %d ts %d", e.Seq, e.Timestamp, last.Seq, last.Timestamp)
				}
				last = e
			}
		}
	})
}

// FuzzPlaylist: whatever a server sends as a playlist, the parser returns an error or
// a playlist within its bounds, its segments numbered one after another.
func FuzzPlaylist(f *testing.F) {
	f.Add([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-MAP:URI=\"i.mp4\"\n#EXTINF:3.008,\n#EXT-X-PROGRAM-DATE-TIME:2026-11-29T17:27:18.051+0000\na.m4s\n#EXT-X-ENDLIST\n"))
	f.Add([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nx.m3u8\n"))
	f.Add([]byte("\xef\xbb\xbf#EXTM3U\n#EXT-X-MAP:URI=\"a,b\",BYTERANGE=\"1@0\"\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		pl, err := parsePlaylist(in)
		if err != nil {
			return
		}
		if pl.target <= 0 || pl.target > maxTargetDuration || len(pl.segments) > maxPlaylistSegments {
			t.Fatalf("target %s, %d segments", pl.target, len(pl.segments))
		}
		for i, s := range pl.segments {
			if s.seq != pl.firstSeq+uint64(i) || s.duration < 0 {
				t.Fatalf("segment %d: %+v", i, s)
			}
		}
	})
}

// FuzzFMP4: whatever a server sends as an init section and a segment, the reader
// returns an error or samples inside the segment, never more than its bound.
func FuzzFMP4(f *testing.F) {
	init, seg := readTestdata(f)
	f.Add(init, seg)
	f.Add(init, seg[:len(seg)/2])
	f.Add(init[:100], seg)
	f.Add(readES(f, "aac-init.mp4"), readES(f, "aac-seg.m4s")) // mp4a, esds
	f.Add(readES(f, "aac-init.mp4")[:700], readES(f, "aac-seg.m4s")[:3000])
	f.Fuzz(func(t *testing.T, init, seg []byte) {
		tr, err := parseInit(init)
		if err != nil {
			tr = mp4Track{id: 1, timescale: 48000}
		}
		ss, err := parseSegment(seg, tr)
		if err != nil {
			return
		}
		if len(ss) > maxSegmentFrames {
			t.Fatalf("%d samples", len(ss))
		}
		if tr.format == transport.CodecAAC || tr.format == transport.CodecMP3 {
			ps, _ := tr.packets(seg)
			for i, p := range ps {
				h, ok := parseFrame(p.codec, p.data)
				if !ok || h.Length != len(p.data) {
					t.Fatalf("frame %d of %d bytes: header %+v %v", i, len(p.data), h, ok)
				}
			}
		}
	})
}

// FuzzTS: whatever a server sends as an MPEG-TS segment, the demuxer returns an error
// or whole frames (each one its header describes), no more bytes than it was sent,
// never more than the segment bound, in order on the timeline.
func FuzzTS(f *testing.F) {
	ts := readES(f, "aac.ts")
	f.Add(ts)
	f.Add(ts[:len(ts)/2+100])
	f.Add(without(ts, 6*tsPacketLen))
	f.Fuzz(func(t *testing.T, in []byte) {
		ps, err := tsPackets(in, &sampleClock{})
		if err != nil && len(ps) == 0 {
			return
		}
		if len(ps) > maxSegmentFrames {
			t.Fatalf("%d frames", len(ps))
		}
		checkFuzzedFrames(t, ps, len(in))
	})
}

// checkFuzzedFrames wants whole frames, at most n bytes of them, each at or after the
// end of the one before.
func checkFuzzedFrames(t *testing.T, ps []packet, n int) {
	t.Helper()
	total := 0
	var end uint64
	for i, p := range ps {
		h, ok := parseFrame(p.codec, p.data)
		if !ok || h.Length != len(p.data) || p.pos < end || p.end <= p.pos {
			t.Fatalf("frame %d: %d bytes at %d-%d after %d, header %+v %v", i, len(p.data), p.pos, p.end, end, h, ok)
		}
		total += len(p.data)
		end = p.end
	}
	if total > n {
		t.Fatalf("%d bytes of frames out of %d in", total, n)
	}
}

// FuzzADTS: whatever a server sends as ADTS AAC (an X Space's chunk: ID3 tags, then
// frames), the reader returns whole frames, no more bytes than it was sent, in order
// on the timeline, and ends.
func FuzzADTS(f *testing.F) {
	aac := readES(f, "aac-48k.aac")
	tags := streamtest.ID3Tags(time.Unix(1_700_000_000, 0))
	f.Add(append(append([]byte(nil), tags...), aac...))
	f.Add(aac[:3000])
	f.Add(append(append(append([]byte(nil), aac[:700]...), tags...), aac[700:2000]...))
	f.Add([]byte("ID3\x04\x00\x10\x00\x00\x00\x04\xff\xf1\x4c\x803DI\x04\x00\x10\x00\x00\x00\x04"))
	f.Fuzz(fuzzES)
}

// FuzzMP3: whatever a server sends as MP3, the reader returns whole frames, no more
// bytes than it was sent, in order on the timeline, and ends.
func FuzzMP3(f *testing.F) {
	mp3 := readES(f, "mp3-44k.mp3")
	f.Add(mp3)
	f.Add(mp3[1000:5000])
	f.Add(append(streamtest.ID3Tags(time.Unix(0, 0)), mp3[:2000]...))
	f.Fuzz(fuzzES)
}

// fuzzES reads in as an elementary stream, a frame at a time as a connection does.
func fuzzES(t *testing.T, in []byte) {
	r := newESReader(bytes.NewReader(in))
	var ps []packet
	for len(ps) <= len(in) {
		p, err := r.readPacket()
		if err != nil {
			checkFuzzedFrames(t, ps, len(in))
			return
		}
		ps = append(ps, p)
	}
	t.Fatalf("more frames (%d) than bytes in", len(ps))
}
