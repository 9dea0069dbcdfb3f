package dotenv

import (
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
