package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/pflag"
)

// fileConfig is the config file: defaults that the command line overrides. Every key is
// optional.
type fileConfig struct {
	// Output is the default audio output of join and demo (as --output).
	Output string `toml:"output"`
	// Volume is the default volume, 0-150 (as --volume).
	Volume *int `toml:"volume"`
	// Token is the default access token (as --token; $SPACETUI_TOKEN comes first). A
	// file that holds one must not be readable by others.
	Token string `toml:"token"`
	// Color is "auto" (colour unless NO_COLOR is set) or "never".
	Color string `toml:"color"`
}

// configHelp is what --help says about the config file.
const configHelp = `Defaults come from $XDG_CONFIG_HOME/spacetui/config.toml (~/.config/spacetui/config.toml),
or the file --config names; flags and environment variables take precedence:
  output = "null"        # as --output
  volume = 60            # as --volume
  token = "..."          # as --token, after $SPACETUI_TOKEN; the file must be chmod 600
  color = "never"        # or "auto"`

// defaultConfigPath is $XDG_CONFIG_HOME/spacetui/config.toml, or under ~/.config.
func defaultConfigPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "spacetui", "config.toml")
}

// loadConfig reads the config file at path. A missing file is no config, unless the user
// named it (explicit). Unknown keys, bad values and a token others can read are errors,
// so a typo never passes silently.
func loadConfig(path string, explicit bool) (fileConfig, error) {
	var c fileConfig
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	if extra := md.Undecoded(); len(extra) > 0 {
		keys := make([]string, len(extra))
		for i, k := range extra {
			keys[i] = k.String()
		}
		return c, fmt.Errorf("config %s: unknown key %s (known: output, volume, token, color)", path, strings.Join(keys, ", "))
	}
	switch c.Color {
	case "", "auto", "never":
	default:
		return c, fmt.Errorf("config %s: color = %q: want \"auto\" or \"never\"", path, c.Color)
	}
	if c.Token != "" {
		st, err := os.Stat(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		if mode := st.Mode().Perm(); mode&0o077 != 0 {
			return c, fmt.Errorf("config %s holds a token and others can read it (mode %#o): chmod 600 %s", path, mode, path)
		}
	}
	return c, nil
}

// apply sets the join flags the command line left alone from c: the command line, then
// the environment, then the file.
func (c fileConfig) apply(fs *pflag.FlagSet, f *joinFlags) {
	if c.Output != "" && !f.capture && !fs.Changed("output") {
		f.output = c.Output
	}
	if c.Volume != nil && !f.capture && !fs.Changed("volume") {
		f.volume = *c.Volume
	}
	if c.Token != "" && !fs.Changed("token") && os.Getenv("SPACETUI_TOKEN") == "" {
		f.dial.token = c.Token
	}
	if c.Color == "never" {
		f.noColor = true
	}
}
