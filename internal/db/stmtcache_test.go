package db

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestStatementCacheKeepsQueriesCorrect checks the cases where reusing a prepared statement
// could go wrong: the same query again while its rows are still open, more distinct queries
// than the cache holds, a failing statement used again, and a schema change under a cached
// statement.
func TestStatementCacheKeepsQueriesCorrect(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, Options{Dialect: SQLite, DSN: filepath.Join(t.TempDir(), "c.db"), MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := d.ExecContext(ctx, "INSERT INTO t (id, v) VALUES (?, ?)", i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}

	// One connection: the inner query runs while the outer one's rows are open.
	tx, err := d.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	const q = "SELECT id, v FROM t WHERE id >= ? ORDER BY id"
	outer, err := tx.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for outer.Next() {
		var id int
		var v string
		if err := outer.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		var inner []int
		if err := tx.SelectContext(ctx, &inner, tx.Rebind("SELECT id FROM t WHERE id >= ? ORDER BY id"), id); err != nil {
			t.Fatal(err)
		}
		var n int
		rows, err := tx.QueryContext(ctx, q, id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			n++
		}
		rows.Close()
		pairs = append(pairs, fmt.Sprintf("%s:%d:%d", v, len(inner), n))
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(pairs), "[v0:5:5 v1:4:4 v2:3:3 v3:2:2 v4:1:1]"; got != want {
		t.Errorf("nested queries = %s; want %s", got, want)
	}

	// More distinct statements than the cache keeps, each answering right.
	for i := range stmtCacheSize + 20 {
		var n int
		if err := d.GetContext(ctx, &n, fmt.Sprintf("SELECT COUNT(*) + %d FROM t", i)); err != nil {
			t.Fatal(err)
		}
		if n != 5+i {
			t.Fatalf("query %d = %d; want %d", i, n, 5+i)
		}
	}

	// A statement that fails (a UNIQUE violation) works again afterwards.
	const ins = "INSERT INTO t (id, v) VALUES (?, ?)"
	if _, err := d.ExecContext(ctx, ins, 10, "v0"); !IsUniqueViolation(err) {
		t.Fatalf("duplicate insert: %v; want a unique violation", err)
	}
	if _, err := d.ExecContext(ctx, ins, 10, "v10"); err != nil {
		t.Fatalf("insert after a failed one: %v", err)
	}

	// A cached SELECT * sees a column added after it was prepared.
	var cols []string
	read := func() {
		rows, err := d.QueryContext(ctx, "SELECT * FROM t WHERE id = 10")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ = rows.Columns()
	}
	read()
	if _, err := d.ExecContext(ctx, "ALTER TABLE t ADD COLUMN w TEXT"); err != nil {
		t.Fatal(err)
	}
	read()
	if len(cols) != 3 {
		t.Errorf("columns after ALTER TABLE = %v; want 3", cols)
	}
}
