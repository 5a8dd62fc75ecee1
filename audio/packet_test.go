package audio

import (
	"errors"
	"testing"
)

func TestPacketSamples(t *testing.T) {
	tests := []struct {
		name string
		pkt  []byte
		want int
		bad  bool
	}{
		{"silence, CELT FB 20 ms", SilencePacket(), 960, false},
		{"SILK NB 10 ms", []byte{0x00, 1, 2}, 480, false},
		{"SILK WB 60 ms", []byte{11 << 3, 1}, 2880, false},
		{"hybrid SWB 20 ms", []byte{13 << 3, 9}, 960, false},
		{"CELT NB 2.5 ms", []byte{16 << 3}, 120, false},
		{"code 1: two equal frames", []byte{31<<3 | 1, 1, 2, 3, 4}, 1920, false},
		{"code 1: odd payload", []byte{31<<3 | 1, 1, 2, 3}, 0, true},
		{"code 2: lengths fit", []byte{31<<3 | 2, 2, 1, 2, 3}, 1920, false},
		{"code 2: first frame too long", []byte{31<<3 | 2, 9, 1, 2}, 0, true},
		{"code 2: two-byte length cut", []byte{31<<3 | 2, 252}, 0, true},
		{"code 3: CBR 3 frames", []byte{31<<3 | 3, 3, 1, 2, 3}, 2880, false},
		{"code 3: CBR not divisible", []byte{31<<3 | 3, 3, 1, 2}, 0, true},
		{"code 3: VBR", []byte{31<<3 | 3, 0x80 | 2, 1, 7, 8, 9}, 1920, false},
		{"code 3: padded", []byte{31<<3 | 3, 0x40 | 1, 2, 7, 0, 0}, 960, false},
		{"code 3: padding past the end", []byte{31<<3 | 3, 0x40 | 1, 9, 7}, 0, true},
		{"code 3: no frames", []byte{31<<3 | 3, 0}, 0, true},
		{"code 3: over 120 ms", []byte{3<<3 | 3, 3}, 0, true},
		{"code 3: 120 ms of 60 ms frames", []byte{3<<3 | 3, 2}, 5760, false},
		{"code 3: no count", []byte{31<<3 | 3}, 0, true},
		{"empty", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PacketSamples(tt.pkt)
			if tt.bad {
				if !errors.Is(err, ErrInvalidPacket) {
					t.Fatalf("PacketSamples = %d, %v; want ErrInvalidPacket", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("PacketSamples = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func FuzzPacketSamples(f *testing.F) {
	f.Add(SilencePacket())
	f.Add([]byte{31<<3 | 3, 0xc0 | 3, 255, 1, 4, 5, 6, 7})
	f.Add([]byte{31<<3 | 2, 253, 1})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		n, err := PacketSamples(pkt)
		if err != nil {
			return
		}
		if n < 120 || n > maxPacketSamples || n%120 != 0 {
			t.Fatalf("PacketSamples = %d for a packet it accepted", n)
		}
	})
}
