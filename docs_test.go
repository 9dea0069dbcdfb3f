package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The README and the documents in docs/: their links lead somewhere, and
// the README's configuration table names the app's settings.

var (
	codeBlock   = regexp.MustCompile("(?s)```.*?```")
	inlineCode  = regexp.MustCompile("`[^`]*`")
	mdLink      = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading   = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
	settingsRow = regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\|")
)

// documents returns the README and docs/*.md, each without its code
// blocks.
func documents(t *testing.T) map[string]string {
	t.Helper()
	paths, _ := filepath.Glob("docs/*.md")
	docs := map[string]string{}
	for _, p := range append(paths, "README.md") {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[p] = codeBlock.ReplaceAllString(string(b), "")
	}
	return docs
}

// anchor is the id GitHub gives a heading: lower case, punctuation but
// hyphens and underscores dropped, spaces turned into hyphens.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestDocumentLinks(t *testing.T) {
	docs := documents(t)
	anchors := map[string]map[string]bool{}
	for path, text := range docs {
		anchors[path] = map[string]bool{}
		for _, m := range mdHeading.FindAllStringSubmatch(text, -1) {
			anchors[path][anchor(m[1])] = true
		}
	}
	for path, text := range docs {
		for _, m := range mdLink.FindAllStringSubmatch(inlineCode.ReplaceAllString(text, ""), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			if file == "" {
				file = path
			} else {
				file = filepath.Join(filepath.Dir(path), file)
			}
			if _, err := os.Stat(file); err != nil {
				t.Errorf("%s links to %s, which does not exist", path, target)
				continue
			}
			if frag != "" {
				if found, isDoc := anchors[file]; !isDoc || !found[frag] {
					t.Errorf("%s links to %s: %s has no heading #%s", path, target, file, frag)
				}
			}
		}
	}
}

// The README's configuration table names the settings -help lists, in the
// same order. Names only: a team that changes a default (adds a scope, say)
// changes one line of code, and -help prints the new default.
func TestREADMEListsEverySetting(t *testing.T) {
	rows := settingsRow.FindAllStringSubmatch(documents(t)["README.md"], -1)
	if len(rows) != len(settings) {
		t.Fatalf("README.md's table has %d settings, the app %d", len(rows), len(settings))
	}
	for i, row := range rows {
		if s := settings[i]; row[1] != s.name {
			t.Errorf("README.md's row %d is %s; the app's setting %d is %s", i+1, row[1], i+1, s.name)
		}
	}
}
