package agent

import (
	"context"
	"errors"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

// Timings of the assignment watcher.
const (
	// longPollWait is how long the server holds an assignments request
	// when nothing changes.
	longPollWait = 30 * time.Second
	// longPollSlack is added to longPollWait for the request's own timeout.
	longPollSlack = 15 * time.Second
	// watchRetryDelay is the wait after a failed request.
	watchRetryDelay = 500 * time.Millisecond
)

// fetched is the answer to one assignments request.
type fetched struct {
	as  *api.AgentAssignments
	err error
}

// watchLoop long-polls the host's assignments and reconciles the instances
// with each answer. A wake (the heartbeat saw a new revision, or contact
// was regained) cuts a waiting request short and asks again at once.
func (a *Agent) watchLoop(ctx context.Context) {
	var revision int64
	now := true // ask without waiting: first request, or after a wake
	for ctx.Err() == nil {
		epoch := a.contactEpoch()
		wait := longPollWait
		if now {
			wait = 0
		}
		res, woken := a.fetchAssignments(ctx, revision, wait)
		now = woken
		if res.err != nil {
			if ctx.Err() != nil {
				return
			}
			if woken {
				continue
			}
			a.log.Debug("fetch assignments", "err", res.err)
			if !waitFor(ctx, watchRetryDelay, a.wakeWatch) {
				return
			}
			now = true
			continue
		}
		if !a.reconcile(ctx, *res.as) {
			return
		}
		a.markSynced(epoch)
		for _, in := range a.instanceList() {
			poke(in.wake)
		}
		revision = res.as.Revision
	}
}

// fetchAssignments asks for the assignments, giving up early when the
// watcher is woken; woken reports that it was.
func (a *Agent) fetchAssignments(ctx context.Context, revision int64, wait time.Duration) (fetched, bool) {
	rctx, cancel := context.WithTimeout(ctx, wait+longPollSlack)
	defer cancel()
	ch := make(chan fetched, 1)
	go func() {
		waitMs := int(wait / time.Millisecond)
		res, err := a.api.API.AgentAssignmentsWithResponse(rctx, &api.AgentAssignmentsParams{Revision: &revision, WaitMs: &waitMs})
		if err == nil {
			err = client.Err(res.HTTPResponse, res.Body)
		}
		if err == nil && res.JSON200 == nil {
			err = errors.New("assignments: empty answer")
		}
		if err != nil {
			ch <- fetched{err: err}
			return
		}
		ch <- fetched{as: res.JSON200}
	}()
	select {
	case r := <-ch:
		return r, false
	case <-a.wakeWatch:
		cancel()
		return <-ch, true
	}
}

// reconcile drives the local instances to the assignments: first every
// instance no longer assigned, or assigned in another generation, is
// stopped and destroyed (this stops the stale copies of a host that comes
// back after being given up on), and only then are new instances made and
// existing ones given their new desired state. It returns false if ctx
// ended while waiting.
func (a *Agent) reconcile(ctx context.Context, as api.AgentAssignments) bool {
	want := make(map[string]api.Assignment, len(as.Instances))
	for _, asg := range as.Instances {
		want[asg.ID] = asg
	}
	var stale []*instance
	for _, in := range a.instanceList() {
		if asg, ok := want[in.id]; !ok || asg.Generation != in.generation() {
			stale = append(stale, in)
		}
	}
	for _, in := range stale {
		in.remove()
	}
	// A copy of an older generation must be gone before its successor
	// starts here; copies no longer assigned at all stop meanwhile, without
	// holding up other starts (a 10 s stop grace each, otherwise).
	for _, in := range stale {
		if _, reassigned := want[in.id]; !reassigned {
			go a.forget(in)
			continue
		}
		select {
		case <-in.done:
		case <-ctx.Done():
			return false
		}
		a.forget(in)
	}

	for _, asg := range as.Instances {
		if in, ok := a.lookup(asg.ID); ok {
			in.update(asg)
			continue
		}
		in := a.assigned(asg)
		a.mu.Lock()
		a.instances[in.id] = in
		a.mu.Unlock()
		a.log.Info("assigned", "instance", asg.ID, "name", asg.Name, "generation", asg.Generation, "desired", asg.Desired)
		a.supervise(ctx, in)
	}
	return true
}

// forget drops a removed instance from the agent's table once it is done.
func (a *Agent) forget(in *instance) {
	<-in.done
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.instances[in.id] == in {
		delete(a.instances, in.id)
	}
}
