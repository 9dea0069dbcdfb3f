// Package dotenv reads .env files the way common loaders do (the dotenv
// packages, github.com/joho/godotenv, Docker Compose), for the settings
// an app reads from its environment. It reads; it never sets the
// process's environment.
//
// The rules: one KEY=VALUE per line; blank lines and lines starting with #
// are skipped; "export " before a key is ignored; a value is either
//   - unquoted: trimmed, and cut at " #" (an inline comment); a value that
//     is only a comment is empty, or
//   - in single or double quotes: taken literally up to the closing quote,
//     which may be followed only by spaces and a comment.
//
// There are no escapes and no multi-line values. A UTF-8 byte-order mark
// at the start, as some Windows editors write, is ignored.
package dotenv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Environ returns the environment, given as os.Environ gives it, with the
// values of the file at path for the names the environment does not set:
// the environment wins, even with an empty value, as godotenv.Load and
// Docker Compose have it. A missing file is no error. The process's
// environment is left as it is.
func Environ(environ []string, path string) (map[string]string, error) {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	values, err := Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return env, nil
	} else if err != nil {
		return nil, err
	}
	for k, v := range values {
		if _, set := env[k]; !set {
			env[k] = v
		}
	}
	return env, nil
}

// Read parses the file at path. A missing file is an error satisfying
// errors.Is(err, fs.ErrNotExist).
func Read(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	values, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return values, nil
}

// Parse reads KEY=VALUE lines from r. An error names the line, never a
// value: values may be secrets.
func Parse(r io.Reader) (map[string]string, error) {
	values := map[string]string{}
	scanner := bufio.NewScanner(r)
	for n := 1; scanner.Scan(); n++ {
		line := scanner.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" || strings.ContainsAny(key, " \t\"'") {
			return nil, fmt.Errorf("line %d is not KEY=VALUE", n)
		}
		if value != "" && (value[0] == '"' || value[0] == '\'') {
			end := strings.IndexByte(value[1:], value[0])
			if end < 0 {
				return nil, fmt.Errorf("line %d: %s has no closing quote", n, key)
			}
			if rest := strings.TrimSpace(value[end+2:]); rest != "" && !strings.HasPrefix(rest, "#") {
				return nil, fmt.Errorf("line %d: %s has text after its closing quote", n, key)
			}
			value = value[1 : end+1]
		} else if strings.HasPrefix(value, "#") {
			value = ""
		} else if i := commentStart(value); i >= 0 {
			value = strings.TrimSpace(value[:i])
		}
		values[key] = value
	}
	return values, scanner.Err()
}

// commentStart is where an inline comment begins in an unquoted value: a
// # after a space or a tab; -1 if none.
func commentStart(value string) int {
	for i := 1; i < len(value); i++ {
		if value[i] == '#' && (value[i-1] == ' ' || value[i-1] == '\t') {
			return i
		}
	}
	return -1
}
