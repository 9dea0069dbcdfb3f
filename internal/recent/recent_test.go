package recent

import (
	"fmt"
	"testing"
	"time"
)

func TestExpiresAndStaysBounded(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	const ttl = 10 * time.Second
	m := New[string, int](ttl, 3)
	m.Add("first", 0, now) // starts the generations
	for i, k := range []string{"a", "b"} {
		if !m.Add(k, i+1, now) {
			t.Fatalf("add(%q) refused", k)
		}
	}
	if m.Add("a", 9, now) {
		t.Error("a key already there was added again")
	}
	if v, ok := m.Get("a", now); !ok || v != 1 {
		t.Errorf("get(a) = %v, %v; want the first value", v, ok)
	}

	// Remembered for at least ttl, whenever it was added.
	later := now.Add(ttl - time.Second)
	m.Add("late", 4, later) // full: a new generation, the old one still read
	if _, ok := m.Get("a", later); !ok {
		t.Error("an entry was forgotten before its time")
	}
	if _, ok := m.Get("late", later.Add(ttl-time.Second)); !ok {
		t.Error("an entry expired early")
	}
	// Forgotten by twice ttl.
	if _, ok := m.Get("late", later.Add(2*ttl)); ok {
		t.Error("an entry outlived twice its time")
	}

	// Many additions at once: at most two generations of max entries.
	for i := range 1000 {
		m.Add(string(rune(i)), i, now.Add(time.Hour))
	}
	if n := len(m.current) + len(m.previous); n > 2*3 {
		t.Errorf("%d entries: the memory grows", n)
	}
}

func ExampleMap() {
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	spent := New[string, bool](10*time.Minute, 1000)
	fmt.Println(spent.Add("state-1", true, start))
	fmt.Println(spent.Add("state-1", true, start.Add(time.Minute))) // a replay
	_, ok := spent.Get("state-1", start.Add(25*time.Minute))
	fmt.Println(ok) // forgotten after twice ten minutes
	// Output:
	// true
	// false
	// false
}
