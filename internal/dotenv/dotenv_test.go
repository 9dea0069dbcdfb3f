package dotenv

import (
	"os"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	values, err := Parse(strings.NewReader(strings.Join([]string{
		"\uFEFFZENDESK_SUBDOMAIN=acme", // a byte-order mark, as some Windows editors save
		"# comment", "", "export A=1", `B = "two words"`, "C='x=y'", "D=", "E=value # a comment",
		`F="quoted # not a comment" # a comment`, "G=a#b", `I="a 'b' c"`, "J=\tspaced\t#\tcomment",
		"SESSION_SECRET= # generate one with openssl rand -base64 32 and paste it here",
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"ZENDESK_SUBDOMAIN": "acme", "SESSION_SECRET": "",
		"A": "1", "B": "two words", "C": "x=y", "D": "", "E": "value",
		"F": "quoted # not a comment", "G": "a#b", "I": "a 'b' c", "J": "spaced",
	} {
		if values[k] != want {
			t.Errorf("%s = %q, want %q", k, values[k], want)
		}
	}
	for _, bad := range []string{"JUSTAWORD", `A="no closing quote`, "A B=1", `SECRET="x" y`} {
		if _, err := Parse(strings.NewReader(bad + "\n")); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestTheEnvironmentWins(t *testing.T) {
	path := t.TempDir() + "/.env"
	if err := os.WriteFile(path, []byte("ZENDESK_CLIENT_SECRET=from-file\nPORT=4000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := Environ([]string{"ZENDESK_CLIENT_SECRET="}, path) // set, but empty: a public client
	if err != nil {
		t.Fatal(err)
	}
	if got, set := env["ZENDESK_CLIENT_SECRET"]; got != "" || !set {
		t.Errorf("ZENDESK_CLIENT_SECRET = %q, want the environment's empty value", got)
	}
	if got := env["PORT"]; got != "4000" {
		t.Errorf("PORT = %q, want .env's 4000", got)
	}
}

// No file: the environment alone.
func TestEnvironWithoutAFile(t *testing.T) {
	env, err := Environ([]string{"A=1", "B=x=y"}, t.TempDir()+"/.env")
	if err != nil || len(env) != 2 || env["A"] != "1" || env["B"] != "x=y" {
		t.Errorf("%v, %v", env, err)
	}
}
