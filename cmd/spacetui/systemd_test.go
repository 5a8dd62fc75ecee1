package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The capture service in docs/ is checked with systemd-analyze verify where the tool
// exists (the issue asks for no more than that), against the binary under test.
func TestSystemdUnitVerifies(t *testing.T) {
	if !haveTool("systemd-analyze") {
		t.Skip("systemd-analyze is not installed")
	}
	unit, err := os.ReadFile("../../docs/systemd/spacetui-record@.service")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/spacetui", spacetuiBin(t))
	path := filepath.Join(t.TempDir(), "spacetui-record@ci.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
