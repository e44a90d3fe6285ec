// Package migrations embeds Paved's SQL schema migrations, one folder per dialect. The two
// folders hold the same versions; each file is written for its database's types.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// For returns the migrations of one dialect ("sqlite" or "postgres").
func For(dialect string) (fs.FS, error) {
	return fs.Sub(files, dialect)
}
