package agent

import (
	"cmp"
	"context"
	"errors"
	"slices"
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
	// wakeGrace is how long a request may have run before a wake cuts it
	// short. Once the revision moved, the server answers a waiting request
	// by itself within its poll period (a second): only an older request
	// may hang, on a connection lost in an outage, say.
	wakeGrace = 2 * time.Second
	// A host of n instances spaces its assignment requests, and the
	// heartbeats it sends early, min(n × gapPerInstance, maxGap) apart:
	// the server reads all of the host's instances for each, and a host of
	// thousands must not have them all read again after every placement
	// or status change of a boot storm. A host of a few instances hardly
	// waits.
	gapPerInstance = 200 * time.Microsecond
	maxGap         = time.Second
)

// busyGap is the least time between two requests of a host of n
// instances that read all of them on the server.
func busyGap(n int) time.Duration {
	return min(time.Duration(n)*gapPerInstance, maxGap)
}

// fetched is the answer to one assignments request.
type fetched struct {
	as  *api.AgentAssignments
	err error
}

// watchLoop long-polls the host's assignments and reconciles the instances
// with each answer, then waits busyGap before asking again. A wake (the
// heartbeat saw a new revision, or contact was regained) cuts a request
// short (a request younger than wakeGrace only after a regained contact)
// and asks again at once.
func (a *Agent) watchLoop(ctx context.Context) {
	var revision int64
	now := true // ask without waiting: first request, or after a wake
	for ctx.Err() == nil {
		epoch, synced := a.syncState()
		wait := longPollWait
		if now || !synced {
			// Nothing starts before assignments read after contact was
			// (re)gained: ask for them at once.
			wait = 0
		}
		res, woken := a.fetchAssignments(ctx, epoch, revision, wait)
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
		complete, ok := a.reconcile(ctx, *res.as)
		if !ok {
			return
		}
		if !complete {
			// The changes named an instance this agent does not hold as
			// the server says: ask for the whole list.
			revision, now = 0, true
			continue
		}
		if a.markSynced(epoch) {
			// Starts held back until now may go ahead. (Instances whose
			// assignment changed were woken by reconcile.)
			for _, in := range a.instanceList() {
				poke(in.wake)
			}
		}
		revision = res.as.Revision
		held := len(res.as.Instances)
		if res.as.Present != nil {
			held = len(*res.as.Present)
		}
		if !waitFor(ctx, busyGap(held), nil) {
			return
		}
	}
}

// fetchAssignments asks for the assignments, sent in contact epoch epoch.
// When the watcher is woken it gives up at once if contact was regained
// since (the answer must be read after that), and otherwise once the
// request is older than wakeGrace; woken reports that a wake came.
func (a *Agent) fetchAssignments(ctx context.Context, epoch uint64, revision int64, wait time.Duration) (fetched, bool) {
	sent := time.Now()
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
	}
	if grace := wakeGrace - time.Since(sent); grace > 0 && a.contactEpoch() == epoch {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case r := <-ch:
			return r, true
		case <-t.C:
		}
	}
	cancel()
	return <-ch, true
}

// reconcile drives the local instances to the assignments: first every
// instance no longer assigned, or assigned in another generation, is
// stopped and destroyed (this stops the stale copies of a host that comes
// back after being given up on), and only then are new instances made and
// existing ones given their new desired state. The assignments are the
// whole list, or (with Present) the changes since the agent's revision;
// complete is false, and nothing is done, when Present names an instance
// the agent does not hold at that generation without its assignment. ok
// is false if ctx ended while waiting.
func (a *Agent) reconcile(ctx context.Context, as api.AgentAssignments) (complete, ok bool) {
	a.slots.setLimit(as.MaxStarting)
	want := make(map[string]int64, len(as.Instances)) // ID -> generation
	for _, asg := range as.Instances {
		want[asg.ID] = asg.Generation
	}
	if as.Present != nil {
		for _, ref := range *as.Present {
			if _, changed := want[ref.ID]; changed {
				continue
			}
			if in, held := a.lookup(ref.ID); !held || in.generation() != ref.Generation {
				return false, true
			}
			want[ref.ID] = ref.Generation
		}
	}
	var stale []*instance
	for _, in := range a.instanceList() {
		if gen, ok := want[in.id]; !ok || gen != in.generation() {
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
			return true, false
		}
		a.forget(in)
	}

	// New instances queue for start slots in ID order (creation order).
	ordered := slices.SortedFunc(slices.Values(as.Instances), func(x, y api.Assignment) int { return cmp.Compare(x.ID, y.ID) })
	now := a.now()
	for _, asg := range ordered {
		if in, ok := a.lookup(asg.ID); ok {
			in.update(asg)
			continue
		}
		in := a.assigned(asg, now)
		a.mu.Lock()
		a.instances[in.id] = in
		a.mu.Unlock()
		a.log.Info("assigned", "instance", asg.ID, "name", asg.Name, "generation", asg.Generation, "desired", asg.Desired)
		a.supervise(ctx, in)
	}
	return true, true
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
