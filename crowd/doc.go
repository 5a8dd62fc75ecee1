// Package crowd is spacetui's crowd of simulated listeners: the load tester, which joins a
// real room with N real client connections, each with the very reconnect policy that
// "spacetui join" uses, and measures what they get and what they cost the server.
//
// It depends on transport only: listeners decode nothing and play nothing, so thousands
// fit in one process.
package crowd
