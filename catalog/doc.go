// Package catalog is the app catalogue: apps, their status, conditions, risk profiles,
// identifiers and alternatives, and the search index that finds them. Search engines live in
// subpackages (bleveindex, meiliindex) so that each heavy dependency stays in one place.
package catalog
