package audio

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sync"
)

const wavHeaderLen = 44

// wavSink writes what it plays to a 16-bit mono 48 kHz WAV file, paced at real time.
// The header's sizes are fixed up on Close; a file cut off by a crash has a zero-length
// header that most tools still read.
type wavSink struct {
	path string
	pace pacer

	mu     sync.Mutex // Write and Close may race at shutdown
	f      *os.File
	w      *bufio.Writer
	data   int64 // bytes of samples written
	closed bool
	err    error // the first write error, or the Close result
	buf    []byte
}

var _ Sink = (*wavSink)(nil)

// NewWAVSink creates the WAV file at path and returns a sink that writes to it, paced by
// clock (nil means the real clock) at 20 ms per frame like a sound card.
func NewWAVSink(path string, clock Clock) (Sink, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("wav output: %w", err)
	}
	s := &wavSink{path: path, pace: pacer{clock: orSystem(clock)}, f: f, w: bufio.NewWriterSize(f, 1<<16)}
	if _, err := s.w.Write(wavHeader(0)); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("wav output: %w", err)
	}
	return s, nil
}

// wavHeader is the canonical 44-byte RIFF header for dataLen bytes of samples.
func wavHeader(dataLen uint32) []byte {
	h := make([]byte, 0, wavHeaderLen)
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, 36+dataLen)
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, 1) // PCM
	h = binary.LittleEndian.AppendUint16(h, 1) // mono
	h = binary.LittleEndian.AppendUint32(h, SampleRate)
	h = binary.LittleEndian.AppendUint32(h, SampleRate*2)
	h = binary.LittleEndian.AppendUint16(h, 2)
	h = binary.LittleEndian.AppendUint16(h, 16)
	h = append(h, "data"...)
	return binary.LittleEndian.AppendUint32(h, dataLen)
}

func (s *wavSink) Write(ctx context.Context, pcm []int16) error {
	if err := s.pace.wait(ctx, len(pcm)); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.err != nil {
		return s.err
	}
	s.buf = s.buf[:0]
	for _, v := range pcm {
		s.buf = binary.LittleEndian.AppendUint16(s.buf, uint16(v))
	}
	if _, err := s.w.Write(s.buf); err != nil {
		s.err = fmt.Errorf("wav output %s: %w", s.path, err)
		return s.err
	}
	s.data += int64(len(s.buf))
	return nil
}

// Close flushes the samples and writes the final sizes into the header. A file over
// 4 GiB (12 hours) keeps the largest sizes the format can hold.
func (s *wavSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.err
	}
	s.closed = true
	err := s.w.Flush()
	if err == nil {
		n := uint32(min(s.data, math.MaxUint32-36))
		_, err = s.f.WriteAt(wavHeader(n), 0)
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("wav output %s: %w", s.path, err)
	}
	return s.err
}

func (s *wavSink) Name() string { return "wav:" + s.path }
