package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The README and the documents in docs/: their links lead somewhere, the
// README stays short, and its configuration table is the app's.

var (
	codeBlock   = regexp.MustCompile("(?s)```.*?```")
	inlineCode  = regexp.MustCompile("`[^`]*`")
	mdLink      = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading   = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
	settingsRow = regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\| ([^|]+) \\|")
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
	links := 0
	for path, text := range docs {
		for _, m := range mdLink.FindAllStringSubmatch(inlineCode.ReplaceAllString(text, ""), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links++
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
	if links < 20 {
		t.Errorf("found %d relative links: the test does not read the documents", links)
	}
}

// The README is read in one sitting: 2,000 words at most, code blocks
// aside.
func TestREADMEIsShort(t *testing.T) {
	words := 0
	for _, w := range strings.Fields(documents(t)["README.md"]) {
		if strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) >= 0 {
			words++
		}
	}
	if words > 2000 {
		t.Errorf("README.md has %d words besides its code blocks, more than 2,000: move the depth to docs/", words)
	}
}

// The README's configuration table lists the settings -help lists, in the
// same order, with the same defaults.
func TestREADMEListsEverySetting(t *testing.T) {
	rows := settingsRow.FindAllStringSubmatch(documents(t)["README.md"], -1)
	if len(rows) != len(settings) {
		t.Fatalf("README.md's table has %d settings, the app %d", len(rows), len(settings))
	}
	for i, row := range rows {
		name, fallback := row[1], strings.Trim(strings.TrimSpace(row[2]), "`*")
		if s := settings[i]; name != s.name || fallback != s.fallback {
			t.Errorf("README.md's row %d: %s with default %q; the app's: %s with %q", i+1, name, fallback, s.name, s.fallback)
		}
	}
}
