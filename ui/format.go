package ui

import "fmt"

// formatLost says how much audio an outage cost: "12.4 s lost".
func formatLost(seconds float64) string { return fmt.Sprintf("%.1f s lost", seconds) }
