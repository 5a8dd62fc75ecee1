// Package mumbletest is the Mumble test kit: it runs a real Mumble server (Debian's
// murmurd, as Server: its own ini, ports, database and certificate in a directory of its
// own, killed, restarted and re-keyed at will), makes its channels as the SuperUser, and
// publishes a room's content into a channel as one Mumble user per speaker (Publisher:
// the Opus packets on the room clock at 20 ms pace, talk spurts ended by terminators,
// each cue's text as a channel message, and a rejoin of its own after the server comes
// back). The Mumble transport's tests, the end-to-end tests and the demo (mumbledemo) are
// built on it; it speaks Mumble through gumble, an implementation independent of the
// one under test. Nothing in the product imports it.
package mumbletest
