// Package discovery turns identity-provider logs into normalised usage events — who used which
// SaaS app, when, and whether it worked — so security can see the shadow IT in use.
//
// This layer only parses. One Parser per log format reads a stream and calls back with a
// UsageEvent per usable record and a Rejection (line, reason, excerpt) per bad one; storage,
// matching to the catalogue and pulling from the vendors' APIs build on it.
//
//	p, err := discovery.ParserFor("okta")            // or "entra", "google", "csv"
//	stats, err := p.Parse(ctx, file, emit, reject)    // gzip is undone transparently
//
//	format, r, err := discovery.Sniff(file)           // or guess the format from the first KB
//
// Formats (details on each parser type):
//
//   - okta (OktaParser): the System Log, GET /api/v1/logs — a JSON array or one event per line;
//     app sign-ins and OAuth consents/revokes.
//   - entra (EntraParser): Entra ID sign-ins — Graph /auditLogs/signIns pages, the portal's JSON
//     and CSV downloads, diagnostic-settings exports (one per line or {"records":[…]}) — and
//     permission-grant snapshots ({"snapshotTime", "servicePrincipals", "grants", "users"}).
//   - google (GoogleParser): Google Workspace Reports API activities — pages, one per line or an
//     array; token authorize/revoke and saml logins.
//   - csv (CSVParser): any CSV whose header names a time, a user and an app column.
//
// Every parser streams: memory is bounded by the largest record (32 MiB for JSON, a 1 MiB line
// for CSV), not by the file. Records that are valid but not about an app are skipped; records that
// cannot be used are rejected with their line; an input that is not the format at all (empty,
// binary, truncated or invalid JSON, a CSV without a required column, another vendor's log) ends
// the parse with a *ParseError naming the line.
//
// (Source, SourceEventID) is the idempotency key of an event: re-reading a file, or two exports
// that overlap, yield the same ids for the same records.
package discovery
