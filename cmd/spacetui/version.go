package main

import (
	"runtime/debug"
	"strings"
)

// The version -ldflags set (or "dev") is completed with the commit the binary was built
// from, so that a bug report or a room.json names the code exactly. It is done here, at
// init, so that -ldflags "-X main.version=..." keeps working: -X only sets a variable
// whose initializer is a constant.
func init() {
	info, _ := debug.ReadBuildInfo()
	version = describeBuild(version, info)
}

// describeBuild returns base followed by what info says of the commit: its first 12 hex
// digits, "+dirty" when the working tree had uncommitted changes, and the commit's date,
// as in "dev (commit 0123456789ab+dirty, 2026-11-29)". It returns base alone when info
// names no commit: a binary built outside a checkout, with -buildvcs=false, or a test.
func describeBuild(base string, info *debug.BuildInfo) string {
	if info == nil {
		return base
	}
	var rev, date string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value[:min(len(s.Value), 12)]
		case "vcs.modified":
			dirty = s.Value == "true"
		case "vcs.time":
			date, _, _ = strings.Cut(s.Value, "T") // RFC 3339: the date is enough
		}
	}
	if rev == "" {
		return base
	}
	if dirty {
		rev += "+dirty"
	}
	if date != "" {
		rev += ", " + date
	}
	return base + " (commit " + rev + ")"
}
