package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newMan writes the manual pages, generated from the commands themselves so they never
// disagree with --help.
func newMan(std ioSet) *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "man -o DIR",
		Short: "Write the manual pages (spacetui.1, spacetui-join.1, ...) into DIR",
		Long: `Write a manual page for spacetui and each of its commands into DIR, generated from
the same text as --help. Install them where man looks, e.g.:

  sudo spacetui man -o /usr/local/share/man/man1 && man spacetui-join`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if dir == "" {
				return usageError{errors.New("man needs -o DIR")}
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			root := c.Root()
			root.DisableAutoGenTag = true // pages that do not change with the day they were made
			header := &doc.GenManHeader{Title: "SPACETUI", Section: "1", Source: "spacetui " + version}
			if err := doc.GenManTree(root, header, dir); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			fmt.Fprintf(std.stdout, "wrote the manual pages into %s\n", dir)
			return nil
		},
	}
	c.Flags().StringVarP(&dir, "output", "o", "", "the directory to write the pages into")
	return c
}
