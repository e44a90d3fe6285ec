// Package testutil finds the real services that tests talk to (PostgreSQL, Meilisearch, Chromium).
// scripts/test.sh starts them and exports their addresses; a test whose service is absent skips
// with the reason, or fails when PAVED_TEST_REQUIRE_ALL=1 (as in CI).
package testutil

import (
	"os"
	"testing"
)

// RequireAll reports whether missing services must fail tests instead of skipping them.
func RequireAll() bool { return os.Getenv("PAVED_TEST_REQUIRE_ALL") == "1" }

// Require returns the value of envVar, which names how to reach service. When it is empty the
// test skips, or fails under PAVED_TEST_REQUIRE_ALL=1.
func Require(t testing.TB, service, envVar string) string {
	t.Helper()
	v := os.Getenv(envVar)
	if v != "" {
		return v
	}
	msg := service + " is not available: " + envVar + " is not set (run the tests with `make test`, which starts it)"
	if RequireAll() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// PostgresURL returns the URL of the throwaway PostgreSQL server started for the tests.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return Require(t, "PostgreSQL", "PAVED_TEST_POSTGRES_URL")
}

// Meili returns the address and master key of the Meilisearch server started for the tests.
func Meili(t testing.TB) (url, key string) {
	t.Helper()
	url = Require(t, "Meilisearch", "PAVED_TEST_MEILI_URL")
	key = Require(t, "Meilisearch master key", "PAVED_TEST_MEILI_KEY")
	return url, key
}

// Chromium returns the path of the Chromium binary for browser tests.
func Chromium(t testing.TB) string {
	t.Helper()
	return Require(t, "Chromium", "PAVED_TEST_CHROMIUM")
}
