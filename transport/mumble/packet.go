package mumble

import (
	"encoding/binary"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// The message types of Mumble's control channel that this client reads or writes
// (Mumble.proto's order; the rest are read and ignored).
const (
	msgVersion          = 0
	msgUDPTunnel        = 1
	msgAuthenticate     = 2
	msgPing             = 3
	msgReject           = 4
	msgServerSync       = 5
	msgChannelRemove    = 6
	msgChannelState     = 7
	msgUserRemove       = 8
	msgUserState        = 9
	msgTextMessage      = 11
	msgPermissionDenied = 12
	msgRequestBlob      = 23
)

// maxPacket bounds a control message. Mumble's own limit is 8 MiB (a user's avatar can
// be large); a listener needs none of those, but must still read past them.
const maxPacket = 8 << 20

// readPacket reads one control message: a 2-byte type, a 4-byte length, the body. The
// body is freshly allocated: voice payloads alias it.
func readPacket(r io.Reader) (uint16, []byte, error) {
	var h [6]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	typ, n := binary.BigEndian.Uint16(h[:2]), binary.BigEndian.Uint32(h[2:])
	if n > maxPacket {
		return 0, nil, fmt.Errorf("message of type %d is %d bytes, over the %d limit", typ, n, maxPacket)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	return typ, body, nil
}

// appendMessage appends m, framed as message type typ, to b.
func appendMessage(b []byte, typ uint16, m protoadapt.MessageV1) ([]byte, error) {
	body, err := proto.Marshal(protoadapt.MessageV2Of(m))
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...), nil
}

// unmarshal decodes a control message's body into m.
func unmarshal(body []byte, m protoadapt.MessageV1) error {
	if err := proto.Unmarshal(body, protoadapt.MessageV2Of(m)); err != nil {
		return fmt.Errorf("%T: %w", m, err)
	}
	return nil
}
