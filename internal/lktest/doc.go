// Package lktest is the LiveKit test kit: it finds and runs a real LiveKit server
// (Server: its own ports, its own keys, killed and restarted at will), mints access
// tokens, and publishes a room's content into a LiveKit room as one participant per
// speaker (Publisher: looped audio on the room clock, live transcripts as LiveKit text
// streams, and a rejoin of its own after the server comes back). The LiveKit transport's
// tests and the README's LiveKit demo (lkdemo) are built on it. Nothing in the product
// imports it.
package lktest
