package requestlog

import (
	"fmt"
	"io"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// PrintableJSON wraps the writer of a slog.JSONHandler so that characters
// a terminal would not show as themselves (a right-to-left override, a
// zero-width space: Unicode's format and other unprintable characters)
// reach the log as \uXXXX escapes, as slog's text handler quotes them.
// JSON decodes them to the same text, so log pipelines see no change; a
// person reading the raw line sees what it says. encoding/json escapes the
// ASCII control characters already.
func PrintableJSON(w io.Writer) io.Writer { return printableJSON{w} }

type printableJSON struct{ w io.Writer }

// Write escapes each unprintable rune of p. A slog handler writes each
// record in one call, so no rune is split across two; the characters
// escaped are never JSON's own syntax, so they can only be inside strings.
func (p printableJSON) Write(b []byte) (int, error) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r >= utf8.RuneSelf && !unicode.IsPrint(r) {
			if r1, r2 := utf16.EncodeRune(r); r1 != unicode.ReplacementChar {
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
