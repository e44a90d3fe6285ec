package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
)

// SQLite parses every query afresh unless it is prepared, and parsing took about a quarter of
// the server's CPU under load. The connector below keeps each connection's prepared statements
// by SQL text, as pgx does for PostgreSQL, so a page's queries are parsed once per connection.

// stmtCacheSize bounds the statements kept per connection; Paved has a few hundred distinct
// queries, and generated ones (IN lists of varying length) must not grow it without end.
const stmtCacheSize = 256

type cachingConnector struct{ base driver.Connector }

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn)
}

func (c cachingConnector) Driver() driver.Driver { return c.base.Driver() }

// baseConn is what the SQLite driver's connection offers and the cache relies on.
type baseConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachedStmt struct {
	stmt driver.Stmt
	busy bool // rows from it are open: a second use must not reset it under them
}

type cachingConn struct {
	baseConn
	stmts map[string]*cachedStmt
}

func newCachingConn(c driver.Conn) (driver.Conn, error) {
	b, ok := c.(baseConn)
	if !ok {
		c.Close()
		return nil, errors.New("sqlite driver connection lacks the context interfaces")
	}
	return &cachingConn{baseConn: b, stmts: map[string]*cachedStmt{}}, nil
}

// prepared returns the cached statement for query, preparing it on first use; nil when the
// cached one is busy, so the caller runs the query unprepared.
func (c *cachingConn) prepared(ctx context.Context, query string) (*cachedStmt, error) {
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		return cs, nil
	}
	if len(c.stmts) >= stmtCacheSize {
		for q, cs := range c.stmts {
			if !cs.busy {
				_ = cs.stmt.Close()
				delete(c.stmts, q)
				break
			}
		}
	}
	st, err := c.baseConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{stmt: st}
	c.stmts[query] = cs
	return cs, nil
}

// QueryContext runs query through its cached statement.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.prepared(ctx, query)
	if err != nil || cs == nil {
		return c.baseConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.drop(query, cs)
		return nil, err
	}
	cs.busy = true
	return &cachedRows{rows: rows, cs: cs}, nil
}

// ExecContext runs query through its cached statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.prepared(ctx, query)
	if err != nil || cs == nil {
		return c.baseConn.ExecContext(ctx, query, args)
	}
	res, err := cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil {
		c.drop(query, cs)
	}
	return res, err
}

// drop forgets a statement that failed, so that the next use prepares it afresh rather than
// trust whatever state the error left it in.
func (c *cachingConn) drop(query string, cs *cachedStmt) {
	_ = cs.stmt.Close()
	delete(c.stmts, query)
}

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	for q, cs := range c.stmts {
		_ = cs.stmt.Close()
		delete(c.stmts, q)
	}
	return c.baseConn.Close()
}

// cachedRows frees its statement for the next use when closed, and passes on the column type
// details database/sql asks for.
type cachedRows struct {
	rows driver.Rows
	cs   *cachedStmt
}

func (r *cachedRows) Columns() []string              { return r.rows.Columns() }
func (r *cachedRows) Next(dest []driver.Value) error { return r.rows.Next(dest) }

func (r *cachedRows) Close() error {
	err := r.rows.Close()
	r.cs.busy = false
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
