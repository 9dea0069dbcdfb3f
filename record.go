package main

import (
	"bytes"
	"encoding/binary"
	"time"
)

// What the cookies hold is a small binary record, not JSON: a session
// carries two tokens of a kilobyte or more, and encoding/json would scan
// and quote every byte of them at every save. A record is a format byte,
// then the fields in a fixed order: strings after their length, numbers
// and times (Unix seconds, 0 for none) as varints (encoding/binary). A
// new field goes at the end, with a new format byte: cookies of the old
// format then no longer open, and people sign in again.
const recordFormat = 1

// record is a value kept in a cookie.
type record interface {
	writeFields(b *bytes.Buffer)
	readFields(f *fieldReader)
}

func writeRecord(b *bytes.Buffer, v record) {
	b.WriteByte(recordFormat)
	v.writeFields(b)
}

// readRecord reads p into v, and reports whether p was a whole record.
func readRecord(p []byte, v record) bool {
	if len(p) == 0 || p[0] != recordFormat {
		return false
	}
	f := fieldReader{b: p[1:]}
	v.readFields(&f)
	return !f.bad && len(f.b) == 0
}

func (s *session) writeFields(b *bytes.Buffer) {
	writeString(b, s.Subdomain)
	writeInt(b, s.UserID)
	writeInt(b, s.AuthorizedAt)
	writeString(b, s.AccessToken)
	writeString(b, s.RefreshToken)
	writeTime(b, s.AccessExpiry)
	writeTime(b, s.RefreshExpiry)
}

func (s *session) readFields(f *fieldReader) {
	s.Subdomain = f.string()
	s.UserID = f.int()
	s.AuthorizedAt = f.int()
	s.AccessToken = f.string()
	s.RefreshToken = f.string()
	s.AccessExpiry = f.time()
	s.RefreshExpiry = f.time()
}

func (fl *flow) writeFields(b *bytes.Buffer) {
	writeString(b, fl.State)
	writeString(b, fl.Verifier)
	writeString(b, fl.Subdomain)
	writeString(b, fl.Return)
}

func (fl *flow) readFields(f *fieldReader) {
	fl.State = f.string()
	fl.Verifier = f.string()
	fl.Subdomain = f.string()
	fl.Return = f.string()
}

// lastInstance is the Zendesk this browser signed in to last, in the
// many-instances mode: it pre-fills the form.
type lastInstance string

func (l *lastInstance) writeFields(b *bytes.Buffer) { writeString(b, string(*l)) }
func (l *lastInstance) readFields(f *fieldReader)   { *l = lastInstance(f.string()) }

func writeString(b *bytes.Buffer, s string) {
	b.Write(binary.AppendUvarint(b.AvailableBuffer(), uint64(len(s))))
	b.WriteString(s)
}

func writeInt(b *bytes.Buffer, v int64) {
	b.Write(binary.AppendVarint(b.AvailableBuffer(), v))
}

func writeTime(b *bytes.Buffer, t time.Time) {
	var seconds int64
	if !t.IsZero() {
		seconds = t.Unix()
	}
	writeInt(b, seconds)
}

// fieldReader reads the fields of a record in order. A field that is not
// there reads as its zero value and marks the record bad.
type fieldReader struct {
	b   []byte
	bad bool
}

func (f *fieldReader) string() string {
	n, k := binary.Uvarint(f.b)
	if k <= 0 || n > uint64(len(f.b)-k) {
		f.b, f.bad = nil, true
		return ""
	}
	s := string(f.b[k : k+int(n)])
	f.b = f.b[k+int(n):]
	return s
}

func (f *fieldReader) int() int64 {
	v, k := binary.Varint(f.b)
	if k <= 0 {
		f.b, f.bad = nil, true
		return 0
	}
	f.b = f.b[k:]
	return v
}

func (f *fieldReader) time() time.Time {
	if seconds := f.int(); seconds != 0 {
		return time.Unix(seconds, 0)
	}
	return time.Time{}
}
