package agent

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/api"
)

// slotInstance is an instance for the start slots alone: it has an ID, a
// status and a wake channel.
func slotInstance(a *Agent, id string) *instance {
	return a.newInstance(record{Assignment: api.Assignment{ID: id}, Status: api.InstanceStatusScheduled})
}

// woken reports whether the instance's wake channel fired, and drains it.
func woken(in *instance) bool {
	select {
	case <-in.wake:
		return true
	default:
		return false
	}
}

func status(in *instance) (api.InstanceStatus, string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.rec.Status, in.rec.Message
}

// Instances get slots in line order, never more than the limit; a freed
// slot wakes the next in line; a raised or lowered limit applies to the
// next grants.
func TestStartSlotsOrderAndLimit(t *testing.T) {
	a := &Agent{log: slog.New(slog.DiscardHandler), wakeReport: make(chan struct{}, 1)}
	s := newStartSlots()
	s.setLimit(2)
	t0 := time.Unix(1000, 0)
	ins := make([]*instance, 5)
	for i := range ins {
		ins[i] = slotInstance(a, fmt.Sprintf("id-%d", i))
	}
	// Queued in reverse: the line is ordered by due time, then ID.
	for _, in := range slices.Backward(ins) {
		s.enqueue(in, t0)
	}
	// The last in line asks first: refused, the free slots go to the first
	// two.
	if s.acquire(ins[4], t0) {
		t.Fatal("the last in line got a slot")
	}
	if st, msg := status(ins[4]); st != api.InstanceStatusScheduled || msg != "waiting to start: 2 of 2 start slots in use on this host" {
		t.Fatalf("waiting status %s %q", st, msg)
	}
	if !s.acquire(ins[1], t0) || !s.acquire(ins[0], t0) {
		t.Fatal("the first two in line got no slot")
	}
	if st, _ := status(ins[0]); st != api.InstanceStatusStarting {
		t.Fatalf("holder status %s", st)
	}
	if s.acquire(ins[2], t0) {
		t.Fatal("a third slot with a limit of 2")
	}
	if _, msg := status(ins[2]); msg != "waiting to start: 2 of 2 start slots in use on this host" {
		t.Fatalf("waiting message %q", msg)
	}
	for _, in := range ins {
		woken(in)
	}

	// A freed slot wakes the next in line only.
	if !s.settle(ins[0], api.InstanceStatusRunning, "") {
		t.Fatal("settle of a holder")
	}
	if st, _ := status(ins[0]); st != api.InstanceStatusRunning {
		t.Fatalf("settled status %s", st)
	}
	if !woken(ins[2]) || woken(ins[3]) || woken(ins[4]) {
		t.Fatal("the wrong instances woken")
	}
	if s.settle(ins[0], api.InstanceStatusRunning, "") {
		t.Fatal("settle without a slot")
	}
	if !s.acquire(ins[2], t0) {
		t.Fatal("the next in line got no slot")
	}

	// An instance whose start is no longer due leaves the line.
	s.withdraw(ins[3])
	// Raising the limit wakes as many as it frees slots for.
	s.setLimit(4)
	if !woken(ins[4]) || woken(ins[3]) {
		t.Fatal("a raised limit woke the wrong instances")
	}
	if !s.acquire(ins[4], t0) {
		t.Fatal("no slot under the raised limit")
	}
	// Lowering it takes no slot back; new grants wait until it holds.
	s.setLimit(1)
	if !s.holds(ins[1]) || !s.holds(ins[2]) || !s.holds(ins[4]) {
		t.Fatal("a lowered limit took slots back")
	}
	if s.acquire(ins[3], t0) {
		t.Fatal("a slot over the lowered limit")
	}
	for _, in := range []*instance{ins[1], ins[2]} {
		s.release(in)
	}
	if s.acquire(ins[3], t0) {
		t.Fatal("a slot while the lowered limit is still reached")
	}
	s.release(ins[4])
	if !woken(ins[3]) || !s.acquire(ins[3], t0) {
		t.Fatal("no slot once under the lowered limit")
	}
	s.setLimit(0)
	if s.limit != DefaultMaxStarting {
		t.Fatalf("limit 0 gave %d, want the default %d", s.limit, DefaultMaxStarting)
	}
}

// An earlier due time goes first, whatever the ID: a restart due before a
// new instance was placed starts first.
func TestStartSlotsDueTimeFirst(t *testing.T) {
	a := &Agent{log: slog.New(slog.DiscardHandler), wakeReport: make(chan struct{}, 1)}
	s := newStartSlots()
	s.setLimit(1)
	t0 := time.Unix(1000, 0)
	late, early := slotInstance(a, "a"), slotInstance(a, "b")
	s.enqueue(late, t0.Add(time.Second))
	s.enqueue(early, t0)
	if s.acquire(late, t0.Add(time.Second)) || !s.acquire(early, t0) {
		t.Fatal("the later due time went first")
	}
}

// A boot storm: with max_starting 2, six instances whose health check
// passes only at its first probe (a second after the start) start two at
// a time, in ID order, and all end running. A lowered limit applies from
// the next fetch, and restarts queue too.
func TestBootStormLimit(t *testing.T) {
	s := newFakeServer(t)
	s.maxStarting = 2
	startAgent(t, s)
	asgs := make([]api.Assignment, 6)
	for i := range asgs {
		a := assignment(fmt.Sprintf("storm-%d", i), "sleep", "1000")
		a.ID = uuid.Must(uuid.NewV7()).String()
		check := api.HealthCheckTypeExec
		a.Spec.HealthCheck = &api.HealthCheck{Type: &check, Command: &[]string{"true"}, IntervalSeconds: ptr(1), TimeoutSeconds: ptr(10), Retries: ptr(2)}
		asgs[i] = a
	}
	if !slices.IsSortedFunc(asgs, func(x, y api.Assignment) int { return cmp.Compare(x.ID, y.ID) }) {
		t.Fatal("UUIDv7s out of order")
	}
	s.change(func(s *fakeServer) {
		for _, a := range asgs {
			s.assignments[a.ID] = a
		}
	})
	for _, a := range asgs {
		s.waitStatus(t, a.ID, api.InstanceStatusRunning)
	}

	// Every report: at most two starting, and none starting or running
	// while one placed two or more before it still waits. (Two granted
	// slots at once may report in either order: only a third start, which
	// needs a slot freed a second later, shows the order of the line.)
	most, sawWait := 0, false
	for n, reps := range s.reports() {
		starting, waiting := 0, -1
		for k, r := range reps { // ordered by ID
			switch r.Status {
			case api.InstanceStatusStarting, api.InstanceStatusRunning:
				if r.Status == api.InstanceStatusStarting {
					starting++
				}
				if waiting >= 0 && k >= waiting+2 {
					t.Errorf("report %d: %s %s while %s, placed two before it, waits: %+v", n, r.ID, r.Status, reps[waiting].ID, reps)
				}
			case api.InstanceStatusScheduled:
				if waiting < 0 {
					waiting = k
				}
				sawWait = sawWait || strings.Contains(deref(r.Message), "waiting to start: 2 of 2 start slots in use on this host")
			}
		}
		if starting > 2 {
			t.Errorf("report %d: %d instances starting with a limit of 2: %+v", n, starting, reps)
		}
		most = max(most, starting)
	}
	if most != 2 || !sawWait {
		t.Errorf("the limit was never reached: at most %d starting, a waiting message seen: %v", most, sawWait)
	}

	// Limit 1 from the next fetch; three restarts requested at once start
	// one at a time.
	from := len(s.reports())
	restarted := asgs[:3]
	s.change(func(s *fakeServer) {
		s.maxStarting = 1
		for _, a := range restarted {
			a.RestartSeq++
			s.assignments[a.ID] = a
		}
	})
	for _, a := range restarted {
		eventually(t, a.Name+" restarted and running", func() bool {
			r, _ := s.report(a.ID)
			return r.Status == api.InstanceStatusRunning && s.countEvents(a.ID, "running") == 2
		})
	}
	for n, reps := range s.reports()[from:] {
		starting := 0
		for _, r := range reps {
			if r.Status == api.InstanceStatusStarting {
				starting++
			}
		}
		if starting > 1 {
			t.Errorf("report %d after the limit fell to 1: %d starting: %+v", from+n, starting, reps)
		}
	}
}
