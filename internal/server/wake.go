package server

import (
	"context"
	"iter"
	"maps"
	"sync"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// wakeup tells waiting agents (long-polling their assignments) and the
// reconciler that something changed. It only speeds things up: agents and
// the reconciler also look again on their own, which is what makes
// several servers on one database work.
type wakeup struct {
	mu        sync.Mutex
	hosts     map[string]chan struct{}
	reconcile chan struct{}
}

func newWakeup() *wakeup {
	return &wakeup{hosts: map[string]chan struct{}{}, reconcile: make(chan struct{}, 1)}
}

// host returns a channel closed at the next change of the host's assignments.
func (w *wakeup) host(id string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, ok := w.hosts[id]
	if !ok {
		ch = make(chan struct{})
		w.hosts[id] = ch
	}
	return ch
}

// wakeHosts wakes the agents waiting on these hosts.
func (w *wakeup) wakeHosts(ids iter.Seq[string]) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id := range ids {
		if ch, ok := w.hosts[id]; ok {
			close(ch)
			delete(w.hosts, id)
		}
	}
}

// poke asks the reconciler for a pass soon.
func (w *wakeup) poke() {
	select {
	case w.reconcile <- struct{}{}:
	default:
	}
}

// placing runs fn in one transaction with a placement, flushes the
// placement's events and revisions in that transaction, and wakes the
// touched hosts' agents once it has committed. With a change c the
// transaction is audited (mutate); without, it is the system's own.
func (s *Server) placing(ctx context.Context, c *change, fn func(tx store.Tx, p *placement) error) error {
	write := func(f func(store.Tx) error) error { return s.store.Write(ctx, f) }
	if c != nil {
		write = func(f func(store.Tx) error) error { return s.mutate(ctx, c, f) }
	}
	var done *placement
	err := write(func(tx store.Tx) error {
		p := newPlacement(tx)
		if err := fn(tx, p); err != nil {
			return err
		}
		done = p
		return p.flush(ctx)
	})
	if err != nil {
		return err
	}
	s.wake.wakeHosts(maps.Keys(done.touched))
	if done.pokeAfter {
		s.wake.poke()
	}
	for result, n := range done.decisions {
		s.metrics.decisions.WithLabelValues(result).Add(float64(n))
	}
	return nil
}
