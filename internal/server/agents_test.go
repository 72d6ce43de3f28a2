package server_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

var joinCapacity = api.Capacity{CPU: 4, MemoryMib: 8192, DiskMib: 100000, NetworkMbps: 1000}

// join trades a fresh join token for a host credential and returns a
// client acting as that host's agent.
func join(t *testing.T, e *env, name string) (*client.Client, api.AgentJoinResponse) {
	t.Helper()
	ctx := context.Background()
	jt := call(e.admin.API.CreateJoinTokenWithResponse(ctx, "default", api.JoinTokenCreate{})).ok(t)
	res := call(e.anon().API.AgentJoinWithResponse(ctx, api.AgentJoinRequest{Token: jt.JSON201.Token, HostName: name,
		Capacity: joinCapacity, Drivers: &[]api.DriverReport{{Name: "process", Available: true}}})).ok(t)
	agent, err := client.New(e.url, client.WithToken(res.JSON201.Credential))
	if err != nil {
		t.Fatal(err)
	}
	return agent, *res.JSON201
}

func TestJoinTokenIsSingleUse(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		jt := call(e.admin.API.CreateJoinTokenWithResponse(ctx, "default", api.JoinTokenCreate{
			Labels: &api.Labels{"zone": "a"}})).ok(t)
		req := api.AgentJoinRequest{Token: jt.JSON201.Token, HostName: "edge-one", Capacity: joinCapacity}
		first := call(e.anon().API.AgentJoinWithResponse(ctx, req)).ok(t)
		if first.JSON201.Host != "edge-one" || first.JSON201.Timings.FenceTimeoutMs >= first.JSON201.Timings.HeartbeatTimeoutMs {
			t.Fatalf("join answer %+v", first.JSON201)
		}
		host := call(e.admin.API.GetHostWithResponse(ctx, "edge-one")).ok(t)
		if host.JSON200.Labels["zone"] != "a" || host.JSON200.State != api.HostStateReady {
			t.Fatalf("joined host %+v", host.JSON200)
		}
		req.HostName = "edge-two"
		again, err := e.anon().API.AgentJoinWithResponse(ctx, req)
		if err != nil || again.StatusCode() != http.StatusUnauthorized {
			t.Fatalf("reused token: %v %d %s", err, again.StatusCode(), again.Body)
		}
		if res, _ := e.admin.API.GetHostWithResponse(ctx, "edge-two"); res.StatusCode() != http.StatusNotFound {
			t.Fatalf("a refused join created host edge-two: %d", res.StatusCode())
		}
		expired := auth.NewJoinToken()
		if err := e.store.Write(ctx, func(tx store.Tx) error {
			c, err := tx.GetClusterByName(ctx, "default")
			if err != nil {
				return err
			}
			return tx.CreateJoinToken(ctx, &store.JoinToken{TokenHash: auth.HashSecret(expired), ClusterID: c.ID,
				CreatedAt: time.Now().Add(-2 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour)})
		}); err != nil {
			t.Fatal(err)
		}
		late, err := e.anon().API.AgentJoinWithResponse(ctx, api.AgentJoinRequest{Token: expired, HostName: "edge-late", Capacity: joinCapacity})
		if err != nil || late.StatusCode() != http.StatusUnauthorized {
			t.Fatalf("expired token: %v %d %s", err, late.StatusCode(), late.Body)
		}
		fresh := call(e.admin.API.CreateJoinTokenWithResponse(ctx, "default", api.JoinTokenCreate{})).ok(t)
		taken, err := e.anon().API.AgentJoinWithResponse(ctx, api.AgentJoinRequest{Token: fresh.JSON201.Token,
			HostName: "edge-one", Capacity: joinCapacity})
		if err != nil || taken.StatusCode() != http.StatusConflict {
			t.Fatalf("joining a joined host's name: %v %d %s", err, taken.StatusCode(), taken.Body)
		}
	})
}

func TestHostCredentialActsForItsHostOnly(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	ctx := context.Background()
	agent, _ := join(t, e, "edge-one")
	if res, err := agent.API.ListTenantsWithResponse(ctx, nil); err != nil || res.StatusCode() != http.StatusForbidden {
		t.Fatalf("host credential listing tenants: %v %d", err, res.StatusCode())
	}
	if res, err := e.admin.API.AgentAssignmentsWithResponse(ctx, nil); err != nil || res.StatusCode() != http.StatusForbidden {
		t.Fatalf("user asking for assignments: %v %d", err, res.StatusCode())
	}
	hb := call(agent.API.AgentHeartbeatWithResponse(ctx, api.AgentHeartbeat{})).ok(t)
	if hb.JSON200.Timings.HeartbeatTimeoutMs != 15000 {
		t.Fatalf("timings %+v", hb.JSON200.Timings)
	}
	bogus, err := client.New(e.url, client.WithToken("nhc_"+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := bogus.API.AgentHeartbeatWithResponse(ctx, api.AgentHeartbeat{}); err != nil || res.StatusCode() != http.StatusUnauthorized {
		t.Fatalf("unknown credential: %v %d", err, res.StatusCode())
	}
}

// TestStaleReportsAreIgnored checks that a host reports only on the current
// placement of an instance: a report of an older generation, or from
// another host, changes nothing.
func TestStaleReportsAreIgnored(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	ctx := context.Background()
	call(e.admin.API.PutQuotaWithResponse(ctx, "admin", "default", api.QuotaPut{Tiers: []api.QuotaTierSpec{{Priority: ptr(0)}}})).ok(t)
	agent, _ := join(t, e, "edge-one")
	inst := call(e.admin.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: "web",
		Spec: api.InstanceSpec{Driver: api.InstanceDriverProcess, Command: &[]string{"sleep", "60"}}})).ok(t).JSON201
	other, _ := join(t, e, "edge-two")
	if inst.Host != "edge-one" || inst.Status != api.InstanceStatusScheduled || inst.Generation != 1 {
		t.Fatalf("placed %+v", inst)
	}
	asg := call(agent.API.AgentAssignmentsWithResponse(ctx, &api.AgentAssignmentsParams{})).ok(t).JSON200
	if len(asg.Instances) != 1 || asg.Instances[0].ID != inst.ID || asg.Revision == 0 {
		t.Fatalf("assignments %+v", asg)
	}
	report := func(c *client.Client, gen int64, status api.InstanceStatus) {
		call(c.API.AgentHeartbeatWithResponse(ctx, api.AgentHeartbeat{Instances: &[]api.InstanceReport{
			{ID: inst.ID, Generation: gen, Status: status}}})).ok(t)
	}
	report(agent, 0, api.InstanceStatusFailed)
	report(other, 1, api.InstanceStatusFailed)
	got := call(e.admin.API.GetInstanceWithResponse(ctx, "admin", "web")).ok(t).JSON200
	if got.Status != api.InstanceStatusScheduled {
		t.Fatalf("a stale report changed the status to %s", got.Status)
	}
	report(agent, 1, api.InstanceStatusRunning)
	got = call(e.admin.API.GetInstanceWithResponse(ctx, "admin", "web")).ok(t).JSON200
	if got.Status != api.InstanceStatusRunning {
		t.Fatalf("status %s after the current report", got.Status)
	}
	// A long poll at the current revision answers when the instance changes.
	done := make(chan *api.AgentAssignments, 1)
	go func() {
		res, err := agent.API.AgentAssignmentsWithResponse(ctx, &api.AgentAssignmentsParams{Revision: &asg.Revision, WaitMs: ptr(20000)})
		if err != nil || res.JSON200 == nil {
			done <- nil
			return
		}
		done <- res.JSON200
	}()
	time.Sleep(200 * time.Millisecond)
	call(e.admin.API.InstanceActionWithResponse(ctx, "admin", "web", api.InstanceActionRequest{Action: api.InstanceActionRequestActionStop})).ok(t)
	select {
	case next := <-done:
		if next == nil || next.Revision == asg.Revision || next.Instances[0].Desired != api.DesiredStateStopped {
			t.Fatalf("long poll answered %+v", next)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not wake on the change")
	}
}

// TestAgentsAndInstancesStayInBounds covers what a host, a tenant member or
// a joining agent could otherwise abuse.
func TestAgentsAndInstancesStayInBounds(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	ctx := context.Background()
	call(e.admin.API.PutQuotaWithResponse(ctx, "admin", "default", api.QuotaPut{Tiers: []api.QuotaTierSpec{{Priority: ptr(0)}}})).ok(t)
	edge, _ := join(t, e, "edge-one")
	other, _ := join(t, e, "edge-two")
	inst := call(e.admin.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: "web",
		Spec: api.InstanceSpec{Driver: api.InstanceDriverProcess, Command: &[]string{"sleep", "60"}, LogPath: ptr("/srv/web.log")}})).ok(t).JSON201
	if inst.Host == "edge-two" {
		edge, other = other, edge
	} else if inst.Host != "edge-one" {
		t.Fatalf("placed on %q", inst.Host)
	}

	// Another host cannot write into the instance's timeline.
	forged := api.AgentEvent{InstanceID: inst.ID, Generation: inst.Generation, At: time.Now(), Type: "oom_killed"}
	call(other.API.AgentHeartbeatWithResponse(ctx, api.AgentHeartbeat{Events: &[]api.AgentEvent{forged}})).ok(t)
	real := forged
	real.Type = "running"
	call(edge.API.AgentHeartbeatWithResponse(ctx, api.AgentHeartbeat{Events: &[]api.AgentEvent{real}})).ok(t)
	events := call(e.admin.API.ListInstanceEventsWithResponse(ctx, "admin", "web", nil)).ok(t).JSON200.Items
	for _, ev := range events {
		if ev.Type == "oom_killed" {
			t.Fatalf("a foreign host's event reached the timeline: %+v", ev)
		}
	}
	if last := events[len(events)-1]; last.Type != "running" || last.Host != inst.Host {
		t.Fatalf("the instance's own host's event is missing: %+v", events)
	}

	// An agent address must be a plain http(s) URL.
	bad, err := edge.API.AgentHeartbeatWithResponse(ctx, api.AgentHeartbeat{AgentURL: ptr("file:///etc/passwd")})
	if err != nil || bad.StatusCode() != http.StatusBadRequest || bad.ApplicationProblemJSON400.Field == nil ||
		*bad.ApplicationProblemJSON400.Field != "agent_url" {
		t.Fatalf("bad agent url: %v %d %s", err, bad.StatusCode(), bad.Body)
	}

	// Only the declared log file can be read.
	res := e.do(t, e.admin, "GET", "/api/v1/tenants/admin/instances/web/logs?path=/etc/shadow", "", nil)
	if p := readProblem(t, res); res.StatusCode != http.StatusBadRequest || p.Field != "path" {
		t.Fatalf("undeclared log path: status %d, field %q", res.StatusCode, p.Field)
	}

	// Host directories are for platform admins only.
	call(e.admin.API.CreateUserWithResponse(ctx, api.UserCreate{Name: "dora", Password: ptr(userPassword)})).ok(t)
	call(e.admin.API.PutQuotaWithResponse(ctx, "dora", "default", api.QuotaPut{Tiers: []api.QuotaTierSpec{{Priority: ptr(0)}}})).ok(t)
	dora := e.login("dora", userPassword)
	vol, err := dora.API.CreateInstanceWithResponse(ctx, "dora", api.InstanceCreate{Name: "peek", Spec: api.InstanceSpec{
		Driver: api.InstanceDriverDocker, Image: ptr("busybox"), Volumes: &[]api.VolumeMount{{Source: "/", Target: "/host"}}}})
	if err != nil || vol.StatusCode() != http.StatusForbidden {
		t.Fatalf("a tenant's bind mount of /: %v %d %s", err, vol.StatusCode(), vol.Body)
	}

	// The labels of the join token win over the agent's own.
	jt := call(e.admin.API.CreateJoinTokenWithResponse(ctx, "default", api.JoinTokenCreate{Labels: &api.Labels{"zone": "a"}})).ok(t)
	call(e.anon().API.AgentJoinWithResponse(ctx, api.AgentJoinRequest{Token: jt.JSON201.Token, HostName: "edge-three",
		Capacity: joinCapacity, Labels: &api.Labels{"zone": "b", "disk": "ssd"}})).ok(t)
	h := call(e.admin.API.GetHostWithResponse(ctx, "edge-three")).ok(t).JSON200
	if h.Labels["zone"] != "a" || h.Labels["disk"] != "ssd" {
		t.Fatalf("labels %v", h.Labels)
	}
}

// TestHostUsageUnderConcurrency creates and deletes instances of two
// tenants at once on one host: its usage must end as the sum of what is
// placed on it.
func TestHostUsageUnderConcurrency(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		join(t, e, "edge-one")
		call(e.admin.API.CreateUserWithResponse(ctx, api.UserCreate{Name: "dora", Password: ptr(userPassword)})).ok(t)
		for _, tenant := range []string{"admin", "dora"} {
			call(e.admin.API.PutQuotaWithResponse(ctx, tenant, "default", api.QuotaPut{Tiers: []api.QuotaTierSpec{{Priority: ptr(0)}}})).ok(t)
		}
		dora := e.login("dora", userPassword)
		spec := api.InstanceSpec{Driver: api.InstanceDriverProcess, Command: &[]string{"true"}, CPU: ptr(0.01), MemoryMib: ptr(int64(4))}
		const n = 30
		for i := range n {
			call(e.admin.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: fmt.Sprintf("a%d", i), Spec: spec})).ok(t)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range n {
			wg.Add(2)
			go func() {
				defer wg.Done()
				if res, err := e.admin.API.DeleteInstanceWithResponse(ctx, "admin", fmt.Sprintf("a%d", i)); err != nil || res.StatusCode() != 204 {
					errs <- fmt.Errorf("delete a%d: %v %d", i, err, res.StatusCode())
				}
			}()
			go func() {
				defer wg.Done()
				if res, err := dora.API.CreateInstanceWithResponse(ctx, "dora", api.InstanceCreate{Name: fmt.Sprintf("d%d", i), Spec: spec}); err != nil || res.StatusCode() != 201 {
					errs <- fmt.Errorf("create d%d: %v %d", i, err, res.StatusCode())
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		h := call(e.admin.API.GetHostWithResponse(ctx, "edge-one")).ok(t).JSON200
		if h.Usage.MemoryMib != 4*n || math.Abs(h.Usage.CPU-0.01*n) > 1e-6 {
			t.Fatalf("host usage %+v, want %d instances of 0.01 cpu and 4 MiB", h.Usage, n)
		}
	})
}

// TestAssignmentsAnswerChangesSince: an agent at a revision gets only the
// assignments changed since, with the list of everything it must hold.
func TestAssignmentsAnswerChangesSince(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	ctx := context.Background()
	call(e.admin.API.PutQuotaWithResponse(ctx, "admin", "default", api.QuotaPut{Tiers: []api.QuotaTierSpec{{Priority: ptr(0)}}})).ok(t)
	agent, _ := join(t, e, "edge-one")
	for _, name := range []string{"a", "b", "c"} {
		call(e.admin.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: name,
			Spec: api.InstanceSpec{Driver: api.InstanceDriverProcess, Command: &[]string{"sleep", "60"}}})).ok(t)
	}
	full := call(agent.API.AgentAssignmentsWithResponse(ctx, nil)).ok(t).JSON200
	if len(full.Instances) != 3 || full.Present != nil {
		t.Fatalf("first answer: %d instances, present %v", len(full.Instances), full.Present)
	}
	since := func(rev int64) *api.AgentAssignments {
		return call(agent.API.AgentAssignmentsWithResponse(ctx, &api.AgentAssignmentsParams{Revision: &rev})).ok(t).JSON200
	}
	if same := since(full.Revision); len(same.Instances) != 0 || same.Present == nil || len(*same.Present) != 3 {
		t.Fatalf("nothing changed, yet %d instances and present %v", len(same.Instances), same.Present)
	}
	call(e.admin.API.InstanceActionWithResponse(ctx, "admin", "b", api.InstanceActionRequest{Action: api.InstanceActionRequestActionStop})).ok(t)
	call(e.admin.API.DeleteInstanceWithResponse(ctx, "admin", "c")).ok(t)
	next := since(full.Revision)
	if len(next.Instances) != 1 || next.Instances[0].Name != "b" || next.Instances[0].Desired != api.DesiredStateStopped ||
		next.Present == nil || len(*next.Present) != 2 || next.Revision <= full.Revision {
		t.Fatalf("after a stop and a delete: %+v", next)
	}
}
