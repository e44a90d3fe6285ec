package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// River's pgx driver inserts only into a pgx.Tx, while Paved's transactions are database/sql
// ones running on pgx's stdlib driver. Underneath such a transaction is a *pgx.Conn in the
// middle of it, so a pgx.Tx that sends its statements to that connection writes into the very
// same transaction. borrowTx finds the connection and wraps it.
//
// database/sql does not hand out a transaction's connection, but pgx lets the first argument of
// a statement be a QueryRewriter, which it calls with the connection before sending anything,
// and the stdlib driver passes arguments through untouched. connGrabber records the connection
// and aborts the statement, so nothing reaches the server.

// errGrabbed aborts the statement whose only purpose was to reach the connection.
var errGrabbed = errors.New("jobs: connection borrowed")

type connGrabber struct{ conn *pgx.Conn }

// RewriteQuery implements pgx.QueryRewriter.
func (g *connGrabber) RewriteQuery(_ context.Context, conn *pgx.Conn, _ string, _ []any) (string, []any, error) {
	g.conn = conn
	return "", nil, errGrabbed
}

// borrowTx returns a pgx.Tx that runs in tx. The caller must not use tx from another goroutine
// while the returned value is in use, and must not keep it after tx ends.
func borrowTx(ctx context.Context, tx *sql.Tx) (pgx.Tx, error) {
	g := &connGrabber{}
	_, err := tx.ExecContext(ctx, "-- paved: borrow connection", g)
	if !errors.Is(err, errGrabbed) {
		if err == nil {
			err = errors.New("the driver ignored the connection grabber")
		}
		return nil, fmt.Errorf("reach the transaction's pgx connection: %w", err)
	}
	if g.conn == nil {
		return nil, errors.New("reach the transaction's pgx connection: none")
	}
	if s := g.conn.PgConn().TxStatus(); s != 'T' {
		return nil, fmt.Errorf("the connection is not in a usable transaction (status %q)", s)
	}
	return &borrowedTx{conn: g.conn}, nil
}

// borrowedTx is a pgx.Tx for a transaction that database/sql owns: it never commits or rolls
// back the transaction itself, and its nested transactions are savepoints, as pgx's own are.
type borrowedTx struct {
	conn  *pgx.Conn
	depth int    // 0 for the outer transaction, n for the nth nested savepoint
	done  bool   // a nested transaction that was released or rolled back
	name  string // the savepoint of a nested transaction
}

var errNotOwned = errors.New("jobs: the transaction belongs to database/sql; commit or roll back the *sql.Tx")

func (t *borrowedTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if t.done {
		return nil, pgx.ErrTxClosed
	}
	name := fmt.Sprintf("paved_jobs_sp_%d", t.depth+1)
	if _, err := t.conn.Exec(ctx, "SAVEPOINT "+name); err != nil {
		return nil, err
	}
	return &borrowedTx{conn: t.conn, depth: t.depth + 1, name: name}, nil
}

func (t *borrowedTx) Commit(ctx context.Context) error {
	if t.depth == 0 {
		return errNotOwned
	}
	if t.done {
		return pgx.ErrTxClosed
	}
	t.done = true
	_, err := t.conn.Exec(ctx, "RELEASE SAVEPOINT "+t.name)
	return err
}

func (t *borrowedTx) Rollback(ctx context.Context) error {
	if t.depth == 0 {
		return errNotOwned
	}
	if t.done {
		return pgx.ErrTxClosed
	}
	t.done = true
	_, err := t.conn.Exec(ctx, "ROLLBACK TO SAVEPOINT "+t.name)
	return err
}

func (t *borrowedTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return t.conn.CopyFrom(ctx, table, columns, src)
}

func (t *borrowedTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.conn.SendBatch(ctx, b)
}

// LargeObjects is not supported: pgx offers no way to build one outside its own Tx, and River
// does not use them.
func (t *borrowedTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

func (t *borrowedTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.conn.Prepare(ctx, name, sql)
}

func (t *borrowedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.conn.Exec(ctx, sql, args...)
}

func (t *borrowedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.conn.Query(ctx, sql, args...)
}

func (t *borrowedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.conn.QueryRow(ctx, sql, args...)
}

func (t *borrowedTx) Conn() *pgx.Conn { return t.conn }
