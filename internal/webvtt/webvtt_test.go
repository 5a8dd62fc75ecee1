package webvtt

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		in        string
		want      []Cue
		malformed []string // the start of each Malformed error
		wantErr   bool
	}{
		{name: "no header", in: "00:00.000 --> 00:01.000\nhi\n", wantErr: true},
		{name: "empty", in: "WEBVTT\n"},
		{
			name: "voices, ids, settings, hours",
			in: "\ufeffWEBVTT - title\nKind: captions\n\nc1\n00:00.300 --> 00:05.617 align:start\n<v Ada>Welcome back.\n\n" +
				"01:00:01.000 --> 01:00:02.500\n<v.loud Grace Hopper>Two\nlines</v>\n",
			want: []Cue{
				{ID: "c1", Start: 300 * ms, End: 5617 * ms, Voice: "Ada", Text: "Welcome back."},
				{Start: time.Hour + time.Second, End: time.Hour + 2500*ms, Voice: "Grace Hopper", Text: "Two lines"},
			},
		},
		{
			name: "CRLF, other tags, entities, no voice",
			in:   "WEBVTT\r\n\r\n00:01.000 --> 00:02.000\r\n<b>bold</b> &amp; <i>it</i> <00:01.500>later &lt;3\r\n",
			want: []Cue{{Start: time.Second, End: 2 * time.Second, Text: "bold & it later <3"}},
		},
		{
			name:      "a cue whose identifier starts like a comment",
			in:        "WEBVTT\n\nNOTE\n00:01.000 --> 00:02.000\nx\n\nNOTE -->\n00:01.000 --> 00:02.000\ny\n",
			want:      []Cue{{ID: "NOTE", Start: time.Second, End: 2 * time.Second, Text: "x"}},
			malformed: []string{"webvtt: line 7: bad timestamp"},
		},
		{
			name: "escaped voice and text",
			in:   "WEBVTT\n\n00:01.000 --> 00:02.000\n<v a&gt;b &amp; c>x &lt;y&gt; &amp;amp;\n",
			want: []Cue{{Start: time.Second, End: 2 * time.Second, Voice: "a>b & c", Text: "x <y> &amp;"}},
		},
		{
			name: "comments skipped, malformed cues reported",
			in: "WEBVTT\n\nNOTE a comment\non two lines\n\nSTYLE\n::cue { color: red }\n\n00:02.000 --> 00:01.000\n<v A>backwards\n\n" +
				"00:01.00 --> 00:02.000\nshort fraction\n\n0:01.000 --> 00:02.000\none-digit minutes\n\n" +
				"00:61.000 --> 00:62.000\nbad seconds\n\n00:01.000 --> 00:02.000\n\n00:01.000 -->\nno end\n\n\n" +
				"id only\n\n00:03.000 --> 00:04.000\n<v Linus>kept\n",
			want: []Cue{{Start: 3 * time.Second, End: 4 * time.Second, Voice: "Linus", Text: "kept"}},
			malformed: []string{
				"webvtt: line 9: end", "webvtt: line 12: bad timestamp", "webvtt: line 15: bad timestamp",
				"webvtt: line 18: bad timestamp", "webvtt: line 21: no payload", "webvtt: line 23: no end time",
				"webvtt: line 27: no timing line",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !slices.Equal(f.Cues, tt.want) {
				t.Errorf("cues %+v, want %+v", f.Cues, tt.want)
			}
			if len(f.Malformed) != len(tt.malformed) {
				t.Fatalf("malformed %v, want %d", f.Malformed, len(tt.malformed))
			}
			for i, e := range f.Malformed {
				if !strings.HasPrefix(e.Error(), tt.malformed[i]) {
					t.Errorf("malformed %d: %v, want %q...", i, e, tt.malformed[i])
				}
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	if _, err := Parse(make([]byte, MaxBytes+1)); err == nil {
		t.Error("a file over the limit was accepted")
	}
	var b strings.Builder
	b.WriteString("WEBVTT\n\n")
	for range MaxCues + 10 {
		b.WriteString("00:01.000 --> 00:02.000\nx\n\n")
	}
	f, err := Parse([]byte(b.String()))
	if err != nil || len(f.Cues) != MaxCues {
		t.Errorf("err %v; want %d cues", err, MaxCues)
	}
}

// TestTimestampMap: the X-TIMESTAMP-MAP of an HLS segment's header, in either order,
// and none where it is absent, malformed or after the header.
func TestTimestampMap(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     *TimestampMap
		offset   time.Duration
	}{
		{"HLS", "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\n00:10.000 --> 00:11.000\nx\n",
			&TimestampMap{MPEGTS: 900000}, 10 * time.Second},
		{"reversed, with a local time", "WEBVTT\r\nX-TIMESTAMP-MAP=LOCAL:00:00:02.500,MPEGTS:180000\r\n\r\n",
			&TimestampMap{MPEGTS: 180000, Local: 2500 * time.Millisecond}, -500 * time.Millisecond},
		{"none", "WEBVTT\n\n00:10.000 --> 00:11.000\nx\n", nil, 0},
		{"no LOCAL", "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000\n", nil, 0},
		{"equals, not colons", "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS=900000,LOCAL=00:00:00.000\n", nil, 0},
		{"over 33 bits", "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:8589934592,LOCAL:00:00.000\n", nil, 0},
		{"not in the header", "WEBVTT\n\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00.000\n", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if (f.TimestampMap == nil) != (tc.want == nil) || tc.want != nil && *f.TimestampMap != *tc.want {
				t.Fatalf("map %+v, want %+v", f.TimestampMap, tc.want)
			}
			if tc.want != nil && f.TimestampMap.Offset() != tc.offset {
				t.Errorf("offset %v, want %v", f.TimestampMap.Offset(), tc.offset)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("WEBVTT\n\n00:00.300 --> 00:05.617\n<v Ada>Welcome back.\n"))
	f.Add([]byte("WEBVTT\r\n\r\nid\r\n01:00:01.000 --> 01:00:02.500 line:0\r\n<v.a B>x &amp; <b>y</b>\r\n"))
	f.Add([]byte("WEBVTT\n\n00:01.000 --> 00:02.000\n<v"))
	f.Add([]byte("WEBVTT\n\n\n\nNOTE\n\nx\n00:01.000 --> 00:02.000\n"))
	f.Add([]byte("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\n00:10.000 --> 00:11.000\nx\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		if m := file.TimestampMap; m != nil && (m.MPEGTS >= 1<<33 || m.Local < 0) {
			t.Fatalf("timestamp map out of range: %+v", m)
		}
		lf := strings.ReplaceAll(string(data), "\r\n", "\n")
		lines := strings.Count(lf, "\n") + strings.Count(lf, "\r") + 1
		for _, e := range file.Malformed {
			var line int
			if _, err := fmt.Sscanf(e.Error(), "webvtt: line %d:", &line); err != nil || line < 2 || line > lines {
				t.Fatalf("malformed block at a line not in the file: %v", e)
			}
		}
		for _, c := range file.Cues {
			if c.End <= c.Start || c.Start < 0 {
				t.Fatalf("bad timing %+v", c)
			}
			if utf8.ValidString(string(data)) && (!utf8.ValidString(c.Text) || !utf8.ValidString(c.Voice)) {
				t.Fatalf("invalid UTF-8 from valid input: %+v", c)
			}
			if strings.Contains(c.Text, "\n") || strings.Contains(c.ID, "\n") {
				t.Fatalf("line break in a cue's text or id: %+v", c)
			}
		}
	})
}
