package common

import (
	"fmt"
	"math"
	"time"
)

// About says a wait for one's turn the way a queue is read: "~40 s" under a minute
// (whole seconds, rounded up, so "~0 s" is never said early), then "~3 min" (to the
// nearest minute), for a countdown of minutes that ticks every second is read as
// precision nobody has.
func About(d time.Duration) string {
	secs := int(math.Ceil(d.Seconds()))
	if secs < 60 {
		return fmt.Sprintf("~%d s", max(secs, 0))
	}
	return fmt.Sprintf("~%d min", int(math.Round(float64(secs)/60)))
}

// Clock formats an offset or a duration as mm:ss, or h:mm:ss from one hour on, or
// "3d 04:05:06" from 100 hours on, so that no offset the network sends makes it wider
// than 14 cells; negative values show as 00:00.
func Clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	h, m, sec := s/3600, s/60%60, s%60
	switch {
	case h >= 100:
		return fmt.Sprintf("%dd %02d:%02d:%02d", h/24, h%24, m, sec)
	case h > 0:
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%02d:%02d", m, sec)
}

// Plausible bounds of a room's age: a start time further off is a broken or hostile
// clock (a start of 10^15 ms, an overflow to 1900), and the age is not shown at all
// rather than as a number nobody can read.
const (
	MaxRoomAge   = 366 * 24 * time.Hour
	MaxClockSkew = time.Minute
)

// RoomAge is the time since a room started as the header shows it, and false when the
// start is unknown or implausible (in the future beyond clock skew, or over a year ago).
func RoomAge(started, now time.Time) (time.Duration, bool) {
	if started.IsZero() {
		return 0, false
	}
	d := now.Sub(started) // saturates rather than overflows
	if d < -MaxClockSkew || d > MaxRoomAge {
		return 0, false
	}
	return max(d, 0), true
}
