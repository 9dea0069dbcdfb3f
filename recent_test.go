package main

import (
	"testing"
	"time"
)

func TestRecentExpiresAndStaysBounded(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	m := newRecent[string, int](10*time.Second, 3)
	for i, k := range []string{"a", "b", "c"} {
		if !m.add(k, i, now) {
			t.Fatalf("add(%q) refused", k)
		}
	}
	if m.add("a", 9, now) {
		t.Error("a key already there was added again")
	}
	if v, ok := m.get("a", now); !ok || v != 0 {
		t.Errorf("get(a) = %v, %v; want the first value", v, ok)
	}
	m.add("d", 3, now) // full: the oldest goes
	if _, ok := m.get("a", now); ok {
		t.Error("the oldest entry survived a full memory")
	}
	if _, ok := m.get("d", now.Add(9*time.Second)); !ok {
		t.Error("an entry expired early")
	}
	if _, ok := m.get("d", now.Add(10*time.Second)); ok {
		t.Error("an entry outlived its time")
	}

	// Many additions over time: the memory holds what is alive only.
	for i := range 1000 {
		m.add(string(rune('A'+i%26))+string(rune(i)), i, now.Add(time.Duration(i)*time.Second))
	}
	if len(m.entries) > 3 || len(m.order)-m.head > 3 || cap(m.order) > 64 {
		t.Errorf("%d entries, %d ordered, capacity %d: the memory grows", len(m.entries), len(m.order)-m.head, cap(m.order))
	}
}
