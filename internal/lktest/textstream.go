package lktest

import (
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

// maxChunk is the most text one stream chunk carries, as in the SDK (STREAM_CHUNK_SIZE).
const maxChunk = 15_000

// sendText sends text as one LiveKit text stream (header, chunks, trailer) on the
// reliable data channel, to everyone in the room. It is what LocalParticipant.SendText
// puts on the wire, sent here packet by packet because SendText reports no error and
// registers a close hook on the connection per stream that is only freed when the
// connection closes: a publisher that runs for days would grow without bound.
func sendText(lp *lksdk.LocalParticipant, topic, text string, attrs map[string]string) error {
	id := uuid.NewString()
	size := uint64(len(text))
	header := &livekit.DataStream_Header{
		StreamId:    id,
		Timestamp:   time.Now().UnixMilli(),
		Topic:       topic,
		MimeType:    "text/plain",
		TotalLength: &size,
		Attributes:  attrs,
		ContentHeader: &livekit.DataStream_Header_TextHeader{
			TextHeader: &livekit.DataStream_TextHeader{OperationType: livekit.DataStream_CREATE},
		},
	}
	reliable := lksdk.WithDataPublishReliable(true)
	if err := lp.PublishDataPacket(streamPacket{&livekit.DataPacket{Value: &livekit.DataPacket_StreamHeader{StreamHeader: header}}}, reliable); err != nil {
		return err
	}
	for i := uint64(0); text != ""; i++ {
		n := min(len(text), maxChunk)
		for n < len(text) && !utf8.RuneStart(text[n]) {
			n-- // never split a character
		}
		chunk := &livekit.DataStream_Chunk{StreamId: id, ChunkIndex: i, Content: []byte(text[:n])}
		if err := lp.PublishDataPacket(streamPacket{&livekit.DataPacket{Value: &livekit.DataPacket_StreamChunk{StreamChunk: chunk}}}, reliable); err != nil {
			return err
		}
		text = text[n:]
	}
	trailer := &livekit.DataStream_Trailer{StreamId: id}
	return lp.PublishDataPacket(streamPacket{&livekit.DataPacket{Value: &livekit.DataPacket_StreamTrailer{StreamTrailer: trailer}}}, reliable)
}

// streamPacket is one packet of a data stream, as the SDK's DataPacket.
type streamPacket struct{ pkt *livekit.DataPacket }

var _ lksdk.DataPacket = streamPacket{}

// ToProto returns the packet's protobuf form.
func (p streamPacket) ToProto() *livekit.DataPacket { return p.pkt }
