package main

import (
	"runtime/debug"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	vcs := func(kv ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}}}
		for i := 0; i < len(kv); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return info
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name string
		base string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", "dev", nil, "dev"},
		{"no commit recorded", "dev", vcs(), "dev"},
		{"clean", "dev", vcs("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-11-29T10:11:12Z", "vcs.modified", "false"),
			"dev (commit 0123456789ab, 2026-11-29)"},
		{"dirty", "dev", vcs("vcs.revision", rev, "vcs.time", "2026-11-29T10:11:12Z", "vcs.modified", "true"),
			"dev (commit 0123456789ab+dirty, 2026-11-29)"},
		{"release set by -ldflags", "v1.2.0", vcs("vcs.revision", rev, "vcs.time", "2026-11-29T10:11:12Z", "vcs.modified", "false"),
			"v1.2.0 (commit 0123456789ab, 2026-11-29)"},
		{"no time, short revision", "dev", vcs("vcs.revision", "abc123"), "dev (commit abc123)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeBuild(tt.base, tt.info); got != tt.want {
				t.Errorf("describeBuild(%q) = %q, want %q", tt.base, got, tt.want)
			}
		})
	}
}
