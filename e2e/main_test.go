// Package e2e holds the black-box suites: they build the app, run the
// binary as a separate process configured by environment variables alone,
// as it runs in production, and drive it over HTTP against the Zendesk
// simulator, which runs in the test process. They know the app only by its
// environment, its HTTP answers, its cookies (not their names), the text of
// its pages and its log lines.
//
//	browser_test.go        a real Chromium signs in, through internal/browsertest
//	accessibility_test.go  axe-core checks every page, light and dark
//	proxy_test.go          deploy/nginx.conf in front of two instances, terminating TLS
//	fleet_test.go          the same in front of three: one person, one instance
//	edge_test.go           the same in front of one: what reaches the app, rate limits
//	drain_test.go          SIGTERM lets a page in flight finish
//	terminal_test.go       what the binary says when it starts, or cannot
//	starvation_test.go     1,050 trickled request bodies lock no new client out
//	load_test.go           500 sign-ins, 50 at a time
//	conn_test.go           sign-ins reuse one HTTP/2 connection to Zendesk
//	bench_test.go          BenchmarkSideBySide: the app against the tutorial's app
//	helpers_test.go        building, starting and stopping binaries; sign-ins
//
// The folder can be kept or deleted in one step: nothing outside it
// imports it. Run it with "go test ./e2e" ("make axe-core" first for the
// accessibility test); E2E=1 and PROXY_TEST=1 make a missing Chromium,
// axe-core or nginx fail the suites that need them instead of skipping
// them, as in CI.
package e2e

import (
	"fmt"
	"os"
	"testing"
)

// binDir holds the binaries built for this run; appBinary is the app.
var binDir, appBinary string

// TestMain builds the app once for every test and benchmark, and removes
// the binary at the end.
func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	var err error
	binDir, err = os.MkdirTemp("", "zendesk-oauth-app-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(binDir)
	if appBinary, err = goBuild(binDir, "zendesk-oauth-app", "."); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}
