package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/spacetui/spacetui/transport"
)

func newRooms(std ioSet) *cobra.Command {
	var token string
	c := &cobra.Command{
		Use:   "rooms URL",
		Short: "List the rooms on a server",
		Long: `List the rooms on the server URL names (any room path is ignored): id, title,
listeners, speakers and the URL to join, for every protocol that can list rooms
(ws:// and wss://; a LiveKit server lists nothing to a listener).`,
		Example: `  spacetui rooms ws://127.0.0.1:8080`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("rooms takes one server URL, got %d arguments (see spacetui rooms --help)", len(args))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if token == "" {
				token = os.Getenv("SPACETUI_TOKEN")
			}
			rooms, err := transport.Rooms(c.Context(), args[0], transport.DialOptions{Token: token})
			if err != nil {
				if _, _, lerr := transport.Lookup(args[0]); lerr != nil || errors.Is(err, transport.ErrNoListing) {
					return usageError{err}
				}
				return err
			}
			if len(rooms) == 0 {
				fmt.Fprintln(std.stdout, "no rooms on this server")
				return nil
			}
			printRooms(std.stdout, rooms)
			return nil
		},
	}
	c.Flags().StringVar(&token, "token", "", "access token for the server (default: $SPACETUI_TOKEN)")
	return c
}

// printRooms writes rooms as a table.
func printRooms(w io.Writer, rooms []transport.RoomSummary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tLISTENERS\tSPEAKERS\tURL")
	for _, r := range rooms {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", r.ID, r.Title, r.Listeners, r.Speakers, r.URL)
	}
	tw.Flush()
}

// requireRoom checks that rawURL names a room. When it names only a server, it lists
// the server's rooms on w (if its protocol can) and returns a usage error, rather than
// let the join be refused as "room not found". Any other problem is left for the
// protocol's own check, with the options given.
func requireRoom(ctx context.Context, rawURL string, w io.Writer) error {
	err := transport.Check(rawURL, transport.DialOptions{})
	if !errors.Is(err, transport.ErrNoRoom) {
		return nil
	}
	rooms, lerr := transport.Rooms(ctx, rawURL, transport.DialOptions{Token: os.Getenv("SPACETUI_TOKEN")})
	switch {
	case lerr != nil:
		return usageError{fmt.Errorf("%w; the server's rooms could not be listed: %v", err, lerr)}
	case len(rooms) == 0:
		return usageError{fmt.Errorf("%w, and the server has none", err)}
	}
	fmt.Fprintln(w, "The rooms on this server:")
	printRooms(w, rooms)
	return usageError{fmt.Errorf("%w: pick one of the rooms above", err)}
}
