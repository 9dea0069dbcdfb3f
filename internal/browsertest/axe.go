package browsertest

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// axeTags are the rules run: WCAG 2.0, 2.1 and 2.2 at levels A and AA,
// and axe's best practices (one main landmark, one h1, all content in
// landmarks, ...).
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"}

// AxeSource returns axe-core's axe.min.js from the file AXE_CORE names.
// axe-core, the accessibility engine behind Lighthouse and most browser
// tools (https://github.com/dequelabs/axe-core), is test tooling from npm:
// "make axe-core" installs it outside the repository and the Makefile
// tells the tests where. Without it the test is skipped, or fails when
// E2E=1.
func AxeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("AXE_CORE")
	src, err := os.ReadFile(path)
	if path == "" {
		err = fmt.Errorf("AXE_CORE is not set")
	}
	if err == nil && !bytes.HasPrefix(src, []byte("/*! axe v4.")) {
		err = fmt.Errorf("%s is not axe-core 4's axe.min.js", path)
	}
	if err != nil {
		SkipWithout(t, "E2E", "axe-core ("+err.Error()+")", "make axe-core")
	}
	return string(src)
}

// CheckAccessibility runs axe, whose source AxeSource returned, on the
// page the browser shows, named page in the messages, in the light and in
// the dark colour scheme, and checks the one thing axe does not: the
// placeholders' contrast. The dark scheme must really apply: the body's
// background colour must change. It leaves the page in the light scheme.
func CheckAccessibility(s *Session, axe, page string) {
	s.T.Helper()
	s.Execute(axe)
	if v := s.Execute("return typeof axe === 'object' && axe.version"); v == false {
		s.T.Fatalf("%s: axe-core did not load", page)
	}
	background := func() any { return s.Execute("return getComputedStyle(document.body).backgroundColor") }
	s.ColorScheme("light")
	light := background()
	axeViolations(s, page+" (light)")
	placeholderContrast(s, page+" (light)")
	s.ColorScheme("dark")
	if dark := background(); dark == light {
		s.T.Errorf("%s: the body's background is %v in both colour schemes: the dark scheme does not apply", page, dark)
	}
	axeViolations(s, page+" (dark)")
	placeholderContrast(s, page+" (dark)")
	s.ColorScheme("light")
}

// axeResult is what the script in axeViolations returns of axe.run's results.
type axeResult struct {
	Error      string
	Violations []struct {
		ID, Impact, Help string
		Nodes            []struct{ Target, Summary string }
	}
	Incomplete []string // rules axe could not decide, by id
}

// axeViolations runs axe on the page (axe must be loaded) and fails the
// test with each violation's rule, impact and elements.
func axeViolations(s *Session, page string) {
	s.T.Helper()
	var r axeResult
	s.executeAsync(`const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]}).then(r => done({
	violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
		nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))})),
	incomplete: r.incomplete.map(v => v.id),
}), e => done({error: String(e)}));`, &r, axeTags)
	if r.Error != "" {
		s.T.Fatalf("%s: axe.run: %s", page, r.Error)
	}
	for _, v := range r.Violations {
		var nodes strings.Builder
		for _, n := range v.Nodes {
			fmt.Fprintf(&nodes, "\n\t%s: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
		}
		s.T.Errorf("%s: axe: %s (%s): %s%s", page, v.ID, v.Impact, v.Help, nodes.String())
	}
	if len(r.Incomplete) > 0 {
		s.T.Logf("%s: axe could not decide: %s", page, strings.Join(r.Incomplete, ", "))
	}
}

// placeholderContrast fails the test for a placeholder whose contrast with
// its field's background is below WCAG's 4.5:1 for text (1.4.3): axe does
// not check placeholders. The fields' backgrounds are opaque colours.
func placeholderContrast(s *Session, page string) {
	s.T.Helper()
	low := s.Execute(`const luminance = color => {
	const [r, g, b] = color.match(/[\d.]+/g).slice(0, 3).map(v => {
		v /= 255;
		return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
	});
	return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
return [...document.querySelectorAll("input[placeholder]")].flatMap(field => {
	const text = getComputedStyle(field, "::placeholder").color, background = getComputedStyle(field).backgroundColor;
	const [l1, l2] = [luminance(text), luminance(background)].sort((x, y) => y - x);
	const ratio = (l1 + 0.05) / (l2 + 0.05);
	return ratio < 4.5 ? ["#" + field.id + ": " + text + " on " + background + ", " + ratio.toFixed(2) + ":1"] : [];
});`)
	for _, p := range low.([]any) {
		s.T.Errorf("%s: placeholder contrast below 4.5:1: %v", page, p)
	}
}
