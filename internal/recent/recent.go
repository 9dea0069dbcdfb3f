// Package recent is a map that forgets: it remembers each value for a
// while and holds a bounded number of them, like the expirable LRU of
// github.com/hashicorp/golang-lru, in two generations rather than a list.
// Its times come from the caller, so tests move a clock by hand.
package recent

import (
	"sync"
	"time"
)

// Map remembers values by key for at least ttl and at most twice that,
// and holds at most 2×max of them. It keeps two generations: new entries
// go into the current one, and once it is ttl old (or holds max entries)
// it becomes the previous one, and the previous one is forgotten. It is
// safe for concurrent use.
type Map[K comparable, V any] struct {
	ttl time.Duration
	max int

	mu                sync.Mutex
	current, previous map[K]V
	since             time.Time // when current began
}

// New returns an empty Map.
func New[K comparable, V any](ttl time.Duration, max int) *Map[K, V] {
	return &Map[K, V]{ttl: ttl, max: max, current: map[K]V{}, previous: map[K]V{}}
}

// Get returns the value remembered under key.
func (m *Map[K, V]) Get(key K, now time.Time) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.age(now)
	if v, ok := m.current[key]; ok {
		return v, true
	}
	v, ok := m.previous[key]
	return v, ok
}

// Add remembers value under key from now on, unless key is remembered
// already: then it keeps the old value and reports false.
func (m *Map[K, V]) Add(key K, value V, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.age(now)
	_, inCurrent := m.current[key]
	_, inPrevious := m.previous[key]
	if inCurrent || inPrevious {
		return false
	}
	if len(m.current) >= m.max {
		m.previous, m.current, m.since = m.current, map[K]V{}, now
	}
	m.current[key] = value
	return true
}

// Forget forgets key.
func (m *Map[K, V]) Forget(key K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.current, key)
	delete(m.previous, key)
}

// age starts a new generation when the current one is ttl old, and
// forgets both when the previous one is too. m.mu must be held.
func (m *Map[K, V]) age(now time.Time) {
	switch {
	case now.Sub(m.since) >= 2*m.ttl:
		m.previous, m.current, m.since = map[K]V{}, map[K]V{}, now
	case now.Sub(m.since) >= m.ttl:
		m.previous, m.current, m.since = m.current, map[K]V{}, now
	}
}
