package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
)

// formatPeople is `paved import --format people`: a directory export, not a log.
const formatPeople = "people"

// importPeopleFiles imports directory exports (CSV) and prints what each did, with the lines
// and columns it rejected.
func importPeopleFiles(ctx context.Context, e env, st *discovery.Store, files []string) error {
	failed := 0
	for _, path := range files {
		res, err := importPeopleFile(ctx, st, path)
		fmt.Fprintf(e.stdout, "%s: %d rows read, %d people saved, %d rejected\n", filepath.Base(path), res.Read, res.Saved, res.Rejected)
		for _, rj := range res.Rejections {
			fmt.Fprintf(e.stderr, "  %s line %d: %s\n", filepath.Base(path), rj.Line, rj.Reason)
		}
		if err != nil {
			failed++
			fmt.Fprintf(e.stderr, "paved import: %s: %v\n", path, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed", failed, len(files))
	}
	return nil
}

func importPeopleFile(ctx context.Context, st *discovery.Store, path string) (discovery.PeopleImport, error) {
	f, err := os.Open(path)
	if err != nil {
		return discovery.PeopleImport{}, err
	}
	defer f.Close()
	return st.ImportPeople(ctx, audit.Actor{Name: "cli"}, f)
}
