// Package streamtest is the test kit of HTTP audio streams: it runs a real Icecast
// server (Debian's icecast2, as Icecast: its own config, port, passwords and logs in a
// directory of its own, never the system service) and feeds a mount from FFmpeg (as
// Source: the demo room's audio, looped at its own pace, stopped and restarted at
// will), and runs FFmpeg's live HLS output of the same (as HLS: segments of one of the
// formats the world serves and a media playlist in a directory), served over HTTP by
// an Origin that can dress it as an X Space's and inject faults. The httpstream
// transport's tests and the end-to-end tests are built on it.
// Nothing in the product imports it.
package streamtest
