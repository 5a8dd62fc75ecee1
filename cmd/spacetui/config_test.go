package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func writeConfig(t *testing.T, text string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// The file fills what the command line and the environment left alone, and nothing else.
func TestConfigPrecedence(t *testing.T) {
	path := writeConfig(t, "output = \"null\"\nvolume = 55\ntoken = \"from-file\"\ncolor = \"never\"\n", 0o600)
	tests := []struct {
		name       string
		args       []string
		env        string
		wantOutput string
		wantVolume int
		wantToken  string
	}{
		{"file only", nil, "", "null", 55, "from-file"},
		{"flags win", []string{"--output", "wav:x.wav", "--volume", "90", "--token", "from-flag"}, "", "wav:x.wav", 90, "from-flag"},
		{"environment beats the file", nil, "from-env", "null", 55, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SPACETUI_TOKEN", tt.env)
			var f joinFlags
			c := &cobra.Command{}
			f.register(c)
			if err := c.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := loadConfig(path, true)
			if err != nil {
				t.Fatal(err)
			}
			cfg.apply(c.Flags(), &f)
			if f.output != tt.wantOutput || f.volume != tt.wantVolume || f.dial.token != tt.wantToken || !f.noColor {
				t.Errorf("output %q volume %d token %q noColor %t; want %q %d %q true",
					f.output, f.volume, f.dial.token, f.noColor, tt.wantOutput, tt.wantVolume, tt.wantToken)
			}
		})
	}
}

// A bad config file stops the program with one line and status 2 before anything runs;
// a missing default file is no config.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, text string
		mode       os.FileMode
		want       string
	}{
		{"unknown key", "outptu = \"null\"\n", 0o600, "unknown key outptu"},
		{"bad colour", "color = \"pink\"\n", 0o600, `want "auto" or "never"`},
		{"not toml", "volume = \n", 0o600, "config"},
		{"token readable by others", "token = \"t\"\n", 0o644, "chmod 600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.text, tt.mode)
			var stdout, stderr strings.Builder
			err := run(context.Background(), []string{"join", "--config", path, "--headless", "ws://127.0.0.1:1/rooms/x"}, strings.NewReader(""), &stdout, &stderr)
			if code := exitCode(err, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tt.want)
			}
		})
	}
	if _, err := loadConfig(filepath.Join(t.TempDir(), "none.toml"), false); err != nil {
		t.Errorf("a missing default config: %v", err)
	}
	if _, err := loadConfig(filepath.Join(t.TempDir(), "none.toml"), true); err == nil {
		t.Error("a missing --config file passed silently")
	}
}

// man writes a page per command, from the commands' own help.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr strings.Builder
	if err := run(context.Background(), []string{"man", "-o", dir}, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatal(err, stderr.String())
	}
	for _, page := range []string{"spacetui.1", "spacetui-join.1", "spacetui-record.1", "spacetui-serve.1"} {
		if _, err := os.Stat(filepath.Join(dir, page)); err != nil {
			t.Error(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "spacetui-join.1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `\fB--give-up-after\fP`) {
		t.Error("spacetui-join.1 does not document --give-up-after")
	}
}
