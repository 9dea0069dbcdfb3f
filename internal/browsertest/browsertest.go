// Package browsertest drives Chromium for the tests: a small W3C WebDriver
// client for chromedriver, axe-core's accessibility checks, and the rule
// for a test whose tool is missing. It is test support, with net/http and
// encoding/json only, imported by tests alone (e2e/ and the app's recipe
// tests), never by the app.
//
// Without Chromium and chromedriver, or axe-core, a test skips, but fails
// when E2E=1, as in CI: Start and AxeSource apply the rule, SkipWithout is
// the rule itself.
package browsertest

import (
	"fmt"
	"os"
	"testing"
)

// SkipWithout skips t, which needs what is missing, or fails it when the
// variable gate is 1 (CI sets E2E=1 and PROXY_TEST=1, so that nothing
// stops running there in silence). enable is the command that installs it.
// A skip is also noted in the file SKIPPED_TESTS names, which "make test"
// prints at the end.
func SkipWithout(t *testing.T, gate, missing, enable string) {
	t.Helper()
	if os.Getenv(gate) == "1" {
		t.Fatalf("%s=1, but %s is missing: %s", gate, missing, enable)
	}
	if path := os.Getenv("SKIPPED_TESTS"); path != "" {
		if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			fmt.Fprintf(f, "  %s, without %s: %s\n", t.Name(), missing, enable)
			f.Close()
		}
	}
	t.Skipf("without %s: %s", missing, enable)
}
