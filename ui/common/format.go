package common

import (
	"fmt"
	"time"
)

// Clock formats an offset or a duration as mm:ss, or h:mm:ss from one hour on; negative
// values show as 00:00.
func Clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d / time.Second)
	h, m, sec := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%02d:%02d", m, sec)
}
