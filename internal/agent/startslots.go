package agent

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
)

// DefaultMaxStarting is how many instances the agent starts at once when
// the server does not say (max_starting missing or 0): the default of the
// cluster's max_starting_per_host.
const DefaultMaxStarting = 4

// startSlots bounds how many instances of the host start at once (the
// cluster's max_starting_per_host), so that a boot storm does not swamp
// the host. An instance holds a slot from the moment its supervisor decides
// to start it until it runs: at once after the driver's Start without a
// health check; with one, until the check's first verdict (a pass, or the
// first failure after its start period) or startHold; or until the
// start failed. Instances due to start wait in line, ordered by when their
// start fell due and then by ID (time-ordered: creation order), and report
// status scheduled meanwhile.
//
//	start due ──▶ line ──▶ first in line and a slot free ──▶ starting ──▶ running / failed ──▶ slot free: wake the next
//
// Statuses change with the slots under mu, and heartbeats read them under
// mu too, so that no report shows more instances starting than slots.
type startSlots struct {
	mu      sync.Mutex
	limit   int
	holders map[*instance]struct{}
	line    []waiting               // sorted by (due, id)
	queued  map[*instance]time.Time // the due time of each instance in line
}

// waiting is an instance in line for a slot.
type waiting struct {
	due time.Time
	in  *instance
}

func newStartSlots() *startSlots {
	return &startSlots{limit: DefaultMaxStarting, holders: map[*instance]struct{}{}, queued: map[*instance]time.Time{}}
}

// setLimit takes the limit of an assignments answer (0: the default). A
// lower limit takes no slot back: starts under way finish.
func (s *startSlots) setLimit(n int) {
	if n <= 0 {
		n = DefaultMaxStarting
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == s.limit {
		return
	}
	s.limit = n
	s.wakeLocked()
}

// enqueue puts the instance in line with its start due at due, or moves it
// there if it was in line already.
func (s *startSlots) enqueue(in *instance, due time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueueLocked(in, due)
}

func (s *startSlots) enqueueLocked(in *instance, due time.Time) {
	if was, ok := s.queued[in]; ok {
		if was.Equal(due) {
			return
		}
		s.removeLocked(in)
	}
	w := waiting{due: due, in: in}
	i, _ := slices.BinarySearchFunc(s.line, w, compareWaiting)
	s.line = slices.Insert(s.line, i, w)
	s.queued[in] = due
}

// acquire gives the instance a slot if one is free and no instance is
// before it in line, and marks it starting. Otherwise it puts (or keeps)
// it in line, marks it scheduled with a message saying why, and reports
// false: its wake channel fires when its turn may have come.
func (s *startSlots) acquire(in *instance, due time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.holders[in]; ok {
		return true
	}
	s.enqueueLocked(in, due)
	i, _ := s.findLocked(in)
	if used := len(s.holders); used+i >= s.limit {
		// The free slots, if any, go to those before it in line.
		in.setStatus(api.InstanceStatusScheduled,
			fmt.Sprintf("waiting to start: %d of %d start slots in use on this host", max(used, s.limit), s.limit))
		return false
	}
	s.removeLocked(in)
	s.holders[in] = struct{}{}
	in.setStatus(api.InstanceStatusStarting, "")
	return true
}

// holds reports whether the instance holds a slot.
func (s *startSlots) holds(in *instance) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.holders[in]
	return ok
}

// release frees the instance's slot, if it holds one, and wakes the
// instances whose turn it now is. The instance's status must have left
// starting already.
func (s *startSlots) release(in *instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.holders[in]; !ok {
		return
	}
	delete(s.holders, in)
	s.wakeLocked()
}

// settle sets the status of a holder whose start is over and frees its
// slot, in one step as seen by heartbeats. It reports false, and does
// nothing, when the instance holds no slot.
func (s *startSlots) settle(in *instance, st api.InstanceStatus, msg string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.holders[in]; !ok {
		return false
	}
	in.setStatus(st, msg)
	delete(s.holders, in)
	s.wakeLocked()
	return true
}

// withdraw takes the instance out of line: its start is no longer due.
func (s *startSlots) withdraw(in *instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removeLocked(in) {
		s.wakeLocked()
	}
}

// reading runs fn with the statuses of the slots' instances stable.
func (s *startSlots) reading(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// wakeLocked wakes the instances in line that a free slot awaits.
func (s *startSlots) wakeLocked() {
	free := s.limit - len(s.holders)
	for i := 0; i < free && i < len(s.line); i++ {
		poke(s.line[i].in.wake)
	}
}

// findLocked finds the instance's place in line.
func (s *startSlots) findLocked(in *instance) (int, bool) {
	due, ok := s.queued[in]
	if !ok {
		return 0, false
	}
	return slices.BinarySearchFunc(s.line, waiting{due: due, in: in}, compareWaiting)
}

// removeLocked takes the instance out of line and reports whether it was
// in it.
func (s *startSlots) removeLocked(in *instance) bool {
	i, ok := s.findLocked(in)
	if !ok {
		return false
	}
	s.line = slices.Delete(s.line, i, i+1)
	delete(s.queued, in)
	return true
}

func compareWaiting(x, y waiting) int {
	if c := x.due.Compare(y.due); c != 0 {
		return c
	}
	return cmp.Compare(x.in.id, y.in.id)
}
