package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

// maxReportBytes bounds the JSON of one heartbeat, well under the
// server's 1 MiB request limit; what is left of the buffers after a long
// outage goes in the following heartbeats, sent without waiting.
const maxReportBytes = 768 << 10

// maxInstanceReportBytes bounds the instance reports of one heartbeat. A
// host whose reports do not all fit (a few thousand instances) sends only
// those the server has not taken yet (new, or changed since), as many as
// fit, and the rest in the following heartbeats, sent without waiting.
const maxInstanceReportBytes = 512 << 10

// heartbeatLoop reports to the server at the interval it asks for, and
// early when something changed, but no closer together than busyGap.
func (a *Agent) heartbeatLoop(ctx context.Context) {
	for {
		wait := a.heartbeatInterval()
		sent := time.Now()
		if more := a.heartbeat(ctx); more {
			wait = 0
		}
		if !waitFor(ctx, wait, a.wakeReport) {
			return
		}
		if gap := busyGap(a.instanceCount()) - time.Since(sent); gap > 0 && !waitFor(ctx, gap, nil) {
			return
		}
	}
}

// heartbeatInterval is the time between heartbeats the server asks for.
func (a *Agent) heartbeatInterval() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return time.Duration(a.timings.HeartbeatIntervalMs) * time.Millisecond
}

// heartbeat sends one report: every instance's status, and the oldest of
// the events and samples buffered since the last report that got through,
// as many as fit in maxReportBytes. It reports whether a success left some
// behind.
func (a *Agent) heartbeat(ctx context.Context) (more bool) {
	all := a.instanceReports()
	reports, reportsLeft := a.reportsToSend(all)
	a.mu.Lock()
	events, firstEvent := a.events.pending()
	samples, firstSample := a.samples.pending()
	fence := time.Duration(a.timings.FenceTimeoutMs) * time.Millisecond
	a.mu.Unlock()

	drivers := a.driverReports()
	capacity := a.capacity()
	body := api.AgentHeartbeat{
		AgentURL:  &a.url,
		Capacity:  &capacity,
		Drivers:   &drivers,
		Instances: nonNil(reports),
	}
	if a.info.Address != "" {
		body.Address = &a.info.Address
	}
	sendEvents, budget := fitting(events, maxReportBytes-jsonSize(body))
	sendSamples, _ := fitting(samples, budget)
	body.Events, body.Samples = nonNil(sendEvents), nonNil(sendSamples)
	more = reportsLeft || len(sendEvents) < len(events) || len(sendSamples) < len(samples)
	eventsEnd := firstEvent + uint64(len(sendEvents))
	samplesEnd := firstSample + uint64(len(sendSamples))

	sent := a.now()
	// An answer later than the fence timeout would renew nothing.
	rctx, cancel := context.WithTimeout(ctx, fence)
	res, err := a.api.API.AgentHeartbeatWithResponse(rctx, body)
	cancel()
	if err == nil {
		err = client.Err(res.HTTPResponse, res.Body)
	}
	if err == nil && res.JSON200 == nil {
		err = errors.New("heartbeat: empty answer")
	}
	if err != nil {
		if ctx.Err() == nil {
			a.heartbeatFailed(err)
		}
		return false
	}
	a.heartbeatDone(sent, *res.JSON200, eventsEnd, samplesEnd)
	a.reportsTaken(all, reports)
	return more
}

// reportsToSend picks the instance reports of a heartbeat out of all of
// them (see maxInstanceReportBytes) and reports whether some were left
// for the next one.
func (a *Agent) reportsToSend(all []api.InstanceReport) ([]api.InstanceReport, bool) {
	if jsonSize(all) <= maxInstanceReportBytes {
		return all, false
	}
	var fresh []api.InstanceReport
	for _, r := range all {
		if was, ok := a.taken[r.ID]; !ok || !reflect.DeepEqual(was, r) {
			fresh = append(fresh, r)
		}
	}
	send, _ := fitting(fresh, maxInstanceReportBytes)
	return send, len(send) < len(fresh)
}

// reportsTaken records the reports of an accepted heartbeat, and forgets
// those of instances no longer reported.
func (a *Agent) reportsTaken(all, sent []api.InstanceReport) {
	if a.taken == nil {
		a.taken = make(map[string]api.InstanceReport, len(all))
	}
	for _, r := range sent {
		a.taken[r.ID] = r
	}
	if len(a.taken) > len(all) {
		current := make(map[string]bool, len(all))
		for _, r := range all {
			current[r.ID] = true
		}
		for id := range a.taken {
			if !current[id] {
				delete(a.taken, id)
			}
		}
	}
}

// fitting returns the longest prefix of items whose JSON fits in budget
// bytes, and what is left of the budget.
func fitting[T any](items []T, budget int) ([]T, int) {
	for i, it := range items {
		n := jsonSize(it) + 1 // and a comma
		if n > budget {
			return items[:i], budget
		}
		budget -= n
	}
	return items, budget
}

// jsonSize is the length of v's JSON encoding.
func jsonSize(v any) int {
	data, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(data)
}

// heartbeatDone acts on an accepted report: it drops what was delivered,
// renews the lease, adopts the server's timings and wakes the assignment
// watcher when the revision moved or contact was regained.
func (a *Agent) heartbeatDone(sent time.Time, res api.AgentHeartbeatResponse, eventsEnd, samplesEnd uint64) {
	a.mu.Lock()
	droppedEvents := a.events.ack(eventsEnd)
	droppedSamples := a.samples.ack(samplesEnd)
	timings := validTimings(res.Timings, a.timings)
	timingsChanged := timings != a.timings
	a.timings = timings
	revisionMoved := res.Revision != a.revision
	a.revision = res.Revision
	wasOut := a.outage
	a.outage = false
	a.mu.Unlock()

	fence := time.Duration(timings.FenceTimeoutMs) * time.Millisecond
	deadline, regained := a.renewLease(sent, fence)
	a.writeLease(deadline)
	poke(a.wakeFence)
	if regained || revisionMoved {
		poke(a.wakeWatch)
	}
	if timingsChanged {
		c := a.creds
		c.Timings = timings
		if err := saveCredentials(a.cfg.StateDir, c); err != nil {
			a.log.Warn("save timings", "err", err)
		}
	}
	if wasOut {
		a.log.Info("server reachable again", "dropped_events", droppedEvents, "dropped_samples", droppedSamples)
	}
}

// heartbeatFailed logs the first failure of an outage; the buffers keep
// filling until a report gets through.
func (a *Agent) heartbeatFailed(err error) {
	a.mu.Lock()
	first := !a.outage
	a.outage = true
	a.mu.Unlock()
	if !first {
		return
	}
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
		a.log.Error("the server refuses this host's credential: was the host removed? Instances stop when the lease lapses; join again with a new token to come back", "err", err)
		return
	}
	a.log.Warn("heartbeat failed; buffering reports until the server answers", "err", err)
}

// instanceReports is the status of every instance, ordered by ID, read
// while no start slot changes hands.
func (a *Agent) instanceReports() []api.InstanceReport {
	ins := a.instanceList()
	out := make([]api.InstanceReport, 0, len(ins))
	a.slots.reading(func() {
		for _, in := range ins {
			out = append(out, in.report())
		}
	})
	slices.SortFunc(out, func(x, y api.InstanceReport) int { return cmp.Compare(x.ID, y.ID) })
	return out
}

// event buffers an event of an instance and asks for a heartbeat at once.
func (a *Agent) event(id string, generation int64, typ, msg string) {
	e := api.AgentEvent{InstanceID: id, Generation: generation, At: a.now().UTC(), Type: typ}
	if msg != "" {
		e.Message = &msg
	}
	a.mu.Lock()
	a.events.add(e)
	a.mu.Unlock()
	poke(a.wakeReport)
}

// nonNil points at s, or at an empty slice when s is nil, so that the report
// carries [] rather than null.
func nonNil[T any](s []T) *[]T {
	if s == nil {
		s = []T{}
	}
	return &s
}
