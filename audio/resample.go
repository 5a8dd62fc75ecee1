package audio

import (
	"encoding/binary"
	"fmt"
)

// resampler brings one decoded stream to the pipeline's format: it mixes stereo down to
// mono and converts the stream's rate to SampleRate by linear interpolation. It keeps
// its phase and the last input sample from one call to the next, so that packet
// boundaries are seamless, and it counts in whole numbers, so that it does not drift:
// after n input samples it has written exactly ceil(n * SampleRate / rate). The stream
// starts from a silent sample before its first, so the output lags the input by one
// input sample. The zero value is ready; a change of rate restarts it.
type resampler struct {
	rate  int64   // the input rate in Hz, 0 before the first call
	phase int64   // where the next output sample falls after last, in 1/SampleRate of an input sample
	last  int16   // the last input sample of the previous call
	mono  []int16 // the current call's input, mixed down
}

// reset forgets the stream: the next call starts afresh.
func (r *resampler) reset() { r.rate, r.phase, r.last = 0, 0, 0 }

// convert mixes down s16, interleaved little-endian 16-bit PCM of channels (1 or 2) at
// rate Hz, resamples it and writes the result to out. It returns the samples written, or
// an error, with nothing written, when out is too short.
func (r *resampler) convert(s16 []byte, channels, rate int, out []int16) (int, error) {
	r.mono = r.mono[:0]
	if channels == 1 {
		for i := 0; i+1 < len(s16); i += 2 {
			r.mono = append(r.mono, int16(binary.LittleEndian.Uint16(s16[i:])))
		}
	} else {
		for i := 0; i+3 < len(s16); i += 4 {
			left, right := int16(binary.LittleEndian.Uint16(s16[i:])), int16(binary.LittleEndian.Uint16(s16[i+2:]))
			r.mono = append(r.mono, int16((int32(left)+int32(right))>>1))
		}
	}
	return r.convertMono(r.mono, rate, out)
}

// convertMono is convert of mono samples, already mixed down.
func (r *resampler) convertMono(mono []int16, rate int, out []int16) (int, error) {
	if r.rate != int64(rate) {
		r.reset()
		r.rate = int64(rate)
	}
	if rate == SampleRate {
		if len(mono) > len(out) {
			return 0, fmt.Errorf("%w: %d samples do not fit in %d", ErrCorruptFrame, len(mono), len(out))
		}
		return copy(out, mono), nil
	}
	if most := (int64(len(mono))*SampleRate + r.rate - 1) / r.rate; most > int64(len(out)) {
		return 0, fmt.Errorf("%w: %d samples at %d Hz do not fit in %d", ErrCorruptFrame, len(mono), rate, len(out))
	}
	return r.resample(mono, out), nil
}

// resample interpolates in, which continues the input of the previous call, into out.
// The input is seen as last followed by in; an output sample falls every rate/SampleRate
// input samples, between the two input samples around it.
func (r *resampler) resample(in, out []int16) int {
	end := int64(len(in)) * SampleRate // past here, the sample after is not known yet
	n := 0
	for ; r.phase < end; r.phase += r.rate {
		i, frac := r.phase/SampleRate, r.phase%SampleRate
		a := int64(r.last)
		if i > 0 {
			a = int64(in[i-1])
		}
		out[n] = int16(a + (int64(in[i])-a)*frac/SampleRate)
		n++
	}
	r.phase -= end
	if len(in) > 0 {
		r.last = in[len(in)-1]
	}
	return n
}
