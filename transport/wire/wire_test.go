package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestAudioRoundTrip(t *testing.T) {
	frames := []Frame{
		{Track: 1, Seq: 0xFFFFFFFF, Timestamp: 0xFFFFFC40, Payload: []byte{0xF8, 0xFF, 0xFE}},
		{Track: 65535, Seq: 0, Timestamp: 960, Payload: bytes.Repeat([]byte{7}, MaxPayload)},
	}
	b, err := AppendAudio(nil, frames)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseAudio(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, frames) {
		t.Fatalf("round trip: got %+v", got)
	}
}

func TestAudioRejects(t *testing.T) {
	good, _ := AppendAudio(nil, []Frame{{Track: 1, Seq: 1, Payload: []byte{1, 2, 3}}})
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"unknown kind", append([]byte{0x01}, good[1:]...), ErrUnknownKind},
		{"zero frames", []byte{AudioKind, 0}, ErrMalformed},
		{"too many frames", []byte{AudioKind, MaxFramesPerMessage + 1}, ErrMalformed},
		{"truncated header", good[:8], ErrMalformed},
		{"truncated payload", good[:len(good)-1], ErrMalformed},
		{"trailing bytes", append(append([]byte{}, good...), 9), ErrMalformed},
		{"count says two", append([]byte{AudioKind, 2}, good[2:]...), ErrMalformed},
		{"too large", make([]byte, MaxMessage+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseAudio(nil, tt.b); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := AppendAudio(nil, []Frame{{Payload: make([]byte, MaxPayload+1)}}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("oversized payload encoded: %v", err)
	}
	if _, err := AppendAudio(nil, nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty message encoded: %v", err)
	}
}

func TestControlRoundTrip(t *testing.T) {
	msgs := []any{
		&Join{Version: 1, Session: "s1", Epoch: "e1", Last: map[string]uint32{"ada": 42, "grace": 7}},
		&Hello{Version: 1, Session: "s1", Epoch: "e1", ReplayWindowMs: 30000, HeartbeatMs: 5000,
			Room: Room{ID: "demo", Title: "T", Started: "2026-11-27T10:00:00Z", Listeners: 3}},
		&Roster{Speakers: []Speaker{{ID: "ada", Name: "Ada", Role: "host", Track: 1}}},
		&Transcript{ID: "c1", Speaker: "ada", StartMs: 10, EndMs: 2000, Text: "hi", Final: true},
		&Listeners{Count: 1284},
		&Ping{T: 5}, &Pong{T: 5},
		&Ended{Reason: "host ended"},
		&Gap{FromMs: 1, ToMs: 2, Why: "expired"},
	}
	for _, m := range msgs {
		b, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip of %s: got %+v", b, got)
		}
	}
}

func TestControlMarshalEmpty(t *testing.T) {
	b, err := Marshal(Roster{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"roster","speakers":null}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	if _, err := Marshal(struct{}{}); err == nil {
		t.Fatal("marshalled a non-message")
	}
}

func TestControlRejects(t *testing.T) {
	tests := []struct {
		name string
		b    string
		want error
	}{
		{"not json", `{"type":`, ErrMalformed},
		{"unknown type", `{"type":"teleport"}`, ErrUnknownKind},
		{"wrong field type", `{"type":"listeners","count":"many"}`, ErrMalformed},
		{"huge roster", `{"type":"roster","speakers":[` + repeatJoin(`{}`, MaxSpeakers+1) + `]}`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Unmarshal([]byte(tt.b)); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func repeatJoin(s string, n int) string {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s)
	}
	return b.String()
}

func FuzzParseAudio(f *testing.F) {
	good, _ := AppendAudio(nil, []Frame{{Track: 1, Seq: 1, Payload: []byte{1, 2, 3}}, {Track: 2, Payload: []byte{4}}})
	f.Add(good)
	f.Add([]byte{AudioKind, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, err := ParseAudio(nil, b)
		if err != nil {
			return
		}
		// Whatever parses must re-encode to the same bytes.
		again, err := AppendAudio(nil, frames)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encode differs: %v", err)
		}
	})
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`{"type":"hello","room":{"id":"x"}}`, `{"type":"roster","speakers":[{"id":"a"}]}`,
		`{"type":"transcript","text":"\u001b[31m"}`, `{"type":"join","last":{"ada":2}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Unmarshal(b)
		if err != nil {
			return
		}
		if _, err := Marshal(v); err != nil && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("decoded %T does not encode: %v", v, err)
		}
	})
}
