package main

import (
	"sync"
	"time"
)

// recent remembers values by key for a fixed time, and at most max of
// them. Every entry lives the same ttl, so entries expire in the order
// they were added: expired ones are swept from the front of that order,
// without scanning the entries still alive, and when the memory is full
// the oldest goes first. It is safe for concurrent use.
type recent[K comparable, V any] struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[K]recentEntry[V]
	order   []K // the keys by time added; order[head:] are in entries
	head    int
}

type recentEntry[V any] struct {
	value   V
	expires time.Time
}

func newRecent[K comparable, V any](ttl time.Duration, max int) *recent[K, V] {
	return &recent[K, V]{ttl: ttl, max: max, entries: map[K]recentEntry[V]{}}
}

// get returns the value remembered under key, if it has not expired.
func (m *recent[K, V]) get(key K, now time.Time) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// add remembers value under key from now on, unless key is remembered
// already: then it keeps the old value and reports false.
func (m *recent[K, V]) add(key K, value V, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	if _, ok := m.entries[key]; ok {
		return false
	}
	if len(m.entries) >= m.max {
		m.drop()
	}
	m.entries[key] = recentEntry[V]{value, now.Add(m.ttl)}
	m.order = append(m.order, key)
	return true
}

// sweep forgets the expired entries at the front. m.mu must be held.
func (m *recent[K, V]) sweep(now time.Time) {
	for m.head < len(m.order) && !now.Before(m.entries[m.order[m.head]].expires) {
		m.drop()
	}
}

// drop forgets the oldest entry, and compacts the order once half of it
// is spent, so it never grows beyond twice the entries. m.mu must be held.
func (m *recent[K, V]) drop() {
	delete(m.entries, m.order[m.head])
	var zero K
	m.order[m.head] = zero
	m.head++
	if m.head > len(m.order)/2 {
		m.order = append(m.order[:0], m.order[m.head:]...)
		m.head = 0
	}
}
