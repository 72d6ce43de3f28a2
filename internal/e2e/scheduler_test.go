package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
)

// TestPreemptionOnRealAgents fills a host with a running low-priority
// instance, then asks for a high-priority one that fits only if the low
// one goes: the low one is stopped on its host and waits, pending, until a
// second host joins, where it runs again.
func TestPreemptionOnRealAgents(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.admin
	call(c.API.PutQuotaWithResponse(ctx, "admin", "default", api.QuotaPut{Tiers: []api.QuotaTierSpec{
		{Priority: ptr(0)}, {Priority: ptr(10)}}})).ok(t)
	e.startAgent("host-one", t.TempDir(), nil)
	h := call(c.API.GetHostWithResponse(ctx, "host-one")).ok(t).JSON200
	cores := h.Allocatable.CPU

	spec := func(cpu float64, marker string) api.InstanceSpec {
		return api.InstanceSpec{Driver: api.InstanceDriverProcess, CPU: ptr(cpu), MemoryMib: ptr(int64(32)),
			Command: &[]string{"sleep", "600"}, Env: &map[string]string{"E2E_MARK": marker}}
	}
	low := cores * 0.6
	call(c.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: "batch", Spec: spec(low, "batch-up")})).ok(t)
	before := e.waitStatus(c, "admin", "batch", api.InstanceStatusRunning, 15*time.Second)

	call(c.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: "urgent", Priority: ptr(10),
		Spec: spec(cores*0.6, "urgent-up")})).ok(t)
	urgent := e.waitStatus(c, "admin", "urgent", api.InstanceStatusRunning, 15*time.Second)
	if urgent.Host != "host-one" {
		t.Fatalf("urgent runs on %q", urgent.Host)
	}
	evicted := e.waitStatus(c, "admin", "batch", api.InstanceStatusPending, 5*time.Second)
	if !strings.Contains(evicted.Message, "preempted by instance urgent (priority 10)") {
		t.Fatalf("evicted instance's message: %q", evicted.Message)
	}
	// Its copy on host-one is stopped, not left running beside urgent.
	e.eventually(10*time.Second, "batch's process gone from host-one", func() (bool, string) {
		n := len(copies("batch-up"))
		return n == 0, fmt.Sprintf("%d copies", n)
	})
	ex := call(c.API.ExplainInstanceWithResponse(ctx, "admin", "batch")).ok(t).JSON200
	if ex.Fit != 0 || !strings.Contains(ex.Summary, "insufficient cpu") {
		t.Fatalf("explain of the evicted: %+v", ex)
	}

	e.startAgent("host-two", t.TempDir(), nil)
	after := e.waitStatus(c, "admin", "batch", api.InstanceStatusRunning, 20*time.Second)
	if after.Host != "host-two" || after.Generation <= before.Generation {
		t.Fatalf("batch after room appeared: host %q generation %d (was %d)", after.Host, after.Generation, before.Generation)
	}
	e.eventually(5*time.Second, "one copy of batch", func() (bool, string) {
		n := len(copies("batch-up"))
		return n == 1, fmt.Sprintf("%d copies", n)
	})
	var types []string
	for _, ev := range call(c.API.ListInstanceEventsWithResponse(ctx, "admin", "batch", nil)).ok(t).JSON200.Items {
		types = append(types, ev.Type)
	}
	if got := strings.Join(types, " "); !strings.Contains(got, "preempted") || strings.Count(got, "scheduled") < 2 {
		t.Fatalf("batch's events: %s", got)
	}
}
