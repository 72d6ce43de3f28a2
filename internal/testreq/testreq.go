// Package testreq lets a test say which real component it needs (root, a
// Docker engine, cgroups, network namespaces). Without the component the test
// skips, unless NIMBUS_TEST_REQUIRE_ALL=1 (set by CI) turns the skip into a
// failure.
package testreq

import (
	"fmt"
	"os"
	"testing"
)

// RequireAll reports whether missing components fail tests instead of
// skipping them.
func RequireAll() bool { return os.Getenv("NIMBUS_TEST_REQUIRE_ALL") == "1" }

// Missing skips the test (or fails it under NIMBUS_TEST_REQUIRE_ALL=1)
// because a component it needs is unavailable.
func Missing(t testing.TB, component string, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf("needs %s: %s", component, fmt.Sprintf(format, args...))
	if RequireAll() {
		t.Fatal(msg + " (NIMBUS_TEST_REQUIRE_ALL=1)")
	}
	t.Skip(msg)
}

// Root skips the test unless it runs as root.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "root", "running as uid %d", os.Geteuid())
	}
}
