package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/testpg"
)

// joinHost joins a host of the given size offering both drivers and
// returns a client acting as its agent.
func joinHost(t *testing.T, e *env, name string, cpu float64, memMiB int64) *client.Client {
	t.Helper()
	ctx := context.Background()
	jt := call(e.admin.API.CreateJoinTokenWithResponse(ctx, "default", api.JoinTokenCreate{})).ok(t)
	res := call(e.anon().API.AgentJoinWithResponse(ctx, api.AgentJoinRequest{Token: jt.JSON201.Token, HostName: name,
		Arch: ptr("amd64"), Capacity: api.Capacity{CPU: cpu, MemoryMib: memMiB, DiskMib: 100000, NetworkMbps: 1000},
		Drivers: &[]api.DriverReport{{Name: "process", Available: true}, {Name: "docker", Available: true}}})).ok(t)
	agent, err := client.New(e.url, client.WithToken(res.JSON201.Credential))
	if err != nil {
		t.Fatal(err)
	}
	return agent
}

// tiers gives a tenant quota tiers of these priorities on the default cluster.
func tiers(t *testing.T, e *env, tenant string, priorities ...int) {
	t.Helper()
	var spec []api.QuotaTierSpec
	for _, p := range priorities {
		spec = append(spec, api.QuotaTierSpec{Priority: ptr(p)})
	}
	call(e.admin.API.PutQuotaWithResponse(context.Background(), tenant, "default", api.QuotaPut{Tiers: spec})).ok(t)
}

// proc is a process instance of the given size.
func proc(name string, cpu float64, memMiB int64) api.InstanceCreate {
	return api.InstanceCreate{Name: name, Spec: api.InstanceSpec{Driver: api.InstanceDriverProcess,
		Command: &[]string{"sleep", "600"}, CPU: ptr(cpu), MemoryMib: ptr(memMiB)}}
}

// create creates an instance of tenant and returns it.
func create(t *testing.T, c *client.Client, tenant string, in api.InstanceCreate) api.Instance {
	t.Helper()
	return *call(c.API.CreateInstanceWithResponse(context.Background(), tenant, in)).ok(t).JSON201
}

// show reads an instance.
func show(t *testing.T, c *client.Client, tenant, name string) api.Instance {
	t.Helper()
	return *call(c.API.GetInstanceWithResponse(context.Background(), tenant, name)).ok(t).JSON200
}

func TestSchedulerFilters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tiers(t, e, "admin", 0)
		for _, h := range []string{"node-1", "node-2", "node-3"} {
			joinHost(t, e, h, 4, 8192)
		}
		call(e.admin.API.UpdateHostWithResponse(ctx, "node-3", api.HostUpdate{Zone: ptr("b")})).ok(t)
		call(e.admin.API.UpdateHostLabelsWithResponse(ctx, "node-1", api.HostLabelsUpdate{Set: &api.Labels{"disk": "ssd"}})).ok(t)

		// Spread: two instances land on two hosts.
		a, b := create(t, e.admin, "admin", proc("a", 1, 512)), create(t, e.admin, "admin", proc("b", 1, 512))
		if a.Host == "" || b.Host == "" || a.Host == b.Host {
			t.Fatalf("spread placed a on %q and b on %q", a.Host, b.Host)
		}

		// Anti-affinity: three members on three hosts, a fourth waits.
		seen := map[string]bool{}
		for n := range 4 {
			in := proc(fmt.Sprintf("web%d", n), 0.1, 64)
			in.Group, in.GroupPolicy = ptr("web"), ptr(api.GroupPolicyDifferentHost)
			i := create(t, e.admin, "admin", in)
			if n < 3 {
				if i.Host == "" || seen[i.Host] {
					t.Fatalf("web%d placed on %q beside its group (%v)", n, i.Host, seen)
				}
				seen[i.Host] = true
			} else if i.Status != api.InstanceStatusPending || !strings.Contains(i.Message, "instance group already on the host") {
				t.Fatalf("a fourth member of an anti-affinity group on three hosts: %s %q", i.Status, i.Message)
			}
		}

		// Affinity: members follow the first.
		var first string
		for n := range 3 {
			in := proc(fmt.Sprintf("db%d", n), 0.1, 64)
			in.Group, in.GroupPolicy = ptr("db"), ptr(api.GroupPolicySameHost)
			i := create(t, e.admin, "admin", in)
			if first == "" {
				first = i.Host
			}
			if i.Host != first {
				t.Fatalf("db%d on %q, its group on %q", n, i.Host, first)
			}
		}

		// Zone and label selectors.
		in := proc("zoned", 0.1, 64)
		in.Zone = ptr("b")
		if i := create(t, e.admin, "admin", in); i.Host != "node-3" {
			t.Fatalf("zone b instance on %q", i.Host)
		}
		in = proc("fast", 0.1, 64)
		in.Constraints = &[]string{"disk in (ssd,nvme)"}
		if i := create(t, e.admin, "admin", in); i.Host != "node-1" {
			t.Fatalf("disk in (ssd,nvme) on %q", i.Host)
		}
		in = proc("gpu", 0.1, 64)
		in.Constraints = &[]string{"gpu"}
		if i := create(t, e.admin, "admin", in); i.Status != api.InstanceStatusPending {
			t.Fatalf("an instance needing a gpu label is %s on %q", i.Status, i.Host)
		}
		ex := call(e.admin.API.ExplainInstanceWithResponse(ctx, "admin", "gpu")).ok(t).JSON200
		if ex.Hosts != 3 || ex.Fit != 0 || !strings.Contains(ex.Summary, "3 labels not matched (gpu)") {
			t.Fatalf("explain: %+v", ex)
		}

		// A host reserved for another tenant takes none of ours.
		call(e.admin.API.UpdateHostWithResponse(ctx, "node-3", api.HostUpdate{IsolatedTenants: &[]string{"someone"}})).ok(t)
		in = proc("zoned2", 0.1, 64)
		in.Zone = ptr("b")
		if i := create(t, e.admin, "admin", in); i.Status != api.InstanceStatusPending || !strings.Contains(i.Message, "reserved") {
			t.Fatalf("an instance on a host reserved for others: %s %q", i.Status, i.Message)
		}

		// Two instances never map one host port on one host.
		for n := range 2 {
			d := api.InstanceCreate{Name: fmt.Sprintf("port%d", n), Constraints: &[]string{"disk=ssd"}, Spec: api.InstanceSpec{
				Driver: api.InstanceDriverDocker, Image: ptr("busybox"), CPU: ptr(0.1), MemoryMib: ptr(int64(64)),
				Ports: &[]api.PortMapping{{HostPort: 8080, ContainerPort: 80}}}}
			i := create(t, e.admin, "admin", d)
			if n == 0 && i.Host != "node-1" {
				t.Fatalf("port0 on %q", i.Host)
			}
			if n == 1 && (i.Status != api.InstanceStatusPending || !strings.Contains(i.Message, "host port already in use")) {
				t.Fatalf("a second mapping of port 8080 on h1: %s %q", i.Status, i.Message)
			}
		}

		// A memory shortfall is explained with the figures.
		create(t, e.admin, "admin", proc("huge", 0.1, 8000))
		ex = call(e.admin.API.ExplainInstanceWithResponse(ctx, "admin", "huge")).ok(t).JSON200
		if !regexp.MustCompile(`insufficient memory \(needs 8000 MiB, best host has \d+\)`).MatchString(ex.Summary) {
			t.Fatalf("explain of a memory shortfall: %q", ex.Summary)
		}
	})
}

func TestPreemption(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.reconcile()
		tiers(t, e, "admin", 0, 5)
		call(e.admin.API.CreateUserWithResponse(ctx, api.UserCreate{Name: "dora", Password: ptr(userPassword)})).ok(t)
		tiers(t, e, "dora", 0)
		dora := e.login("dora", userPassword)
		joinHost(t, e, "node-1", 2, 4096)

		create(t, dora, "dora", proc("low", 1, 1024))
		create(t, e.admin, "admin", proc("mine", 1, 1024))
		high := proc("high", 1.5, 1024)
		high.Priority = ptr(5)
		if i := create(t, e.admin, "admin", high); i.Host != "node-1" {
			t.Fatalf("high priority instance: %s on %q: %s", i.Status, i.Host, i.Message)
		}
		low, mine := show(t, dora, "dora", "low"), show(t, e.admin, "admin", "mine")
		if low.Status != api.InstanceStatusPending || mine.Status != api.InstanceStatusPending {
			t.Fatalf("1.5 cpu on a 2 cpu host needs both evicted: low %s, mine %s", low.Status, mine.Status)
		}
		// The other tenant learns it was preempted, not by what.
		if !strings.Contains(low.Message, "preempted by instance") || strings.Contains(low.Message, "high") {
			t.Fatalf("the other tenant's victim reads %q", low.Message)
		}
		events := call(e.admin.API.ListInstanceEventsWithResponse(ctx, "admin", "mine", nil)).ok(t).JSON200.Items
		if last := events[len(events)-1]; last.Type != "preempted" || !strings.Contains(last.Message, "instance high (priority 5") {
			t.Fatalf("last event of mine: %+v", last)
		}

		// Equal priority is never evicted.
		peer := proc("peer", 1, 512)
		peer.Priority = ptr(5)
		if i := create(t, e.admin, "admin", peer); i.Status != api.InstanceStatusPending {
			t.Fatalf("an equal priority instance was made room for: %s on %q", i.Status, i.Host)
		}
		if h := show(t, e.admin, "admin", "high"); h.Host != "node-1" {
			t.Fatalf("high moved to %q", h.Host)
		}
		ex := call(e.admin.API.ExplainInstanceWithResponse(ctx, "admin", "peer")).ok(t).JSON200
		if ex.Preemption != nil {
			t.Fatalf("explain offers to preempt an equal priority: %+v", ex.Preemption)
		}

		// The evicted run again when room appears.
		joinHost(t, e, "node-2", 4, 8192)
		deadline := time.Now().Add(10 * time.Second)
		for {
			low, mine = show(t, dora, "dora", "low"), show(t, e.admin, "admin", "mine")
			if low.Host == "node-2" && mine.Host == "node-2" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("evicted instances not placed again: low %s %q, mine %s %q", low.Status, low.Host, mine.Status, mine.Host)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// decisions reads nimbus_scheduler_decisions_total{result} from /metrics.
func decisions(t *testing.T, e *env, result string) int {
	t.Helper()
	res, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	m := regexp.MustCompile(`nimbus_scheduler_decisions_total\{result="` + result + `"\} (\d+)`).FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestPendingWaitsWithoutSpinning pokes the reconciler while nothing
// changes: the pending instance is not tried again until a host joins.
func TestPendingWaitsWithoutSpinning(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	ctx := context.Background()
	e.reconcile()
	tiers(t, e, "admin", 0)
	joinHost(t, e, "node-1", 1, 1024)
	create(t, e.admin, "admin", proc("big", 2, 512))
	time.Sleep(1500 * time.Millisecond) // one pass to settle
	before := decisions(t, e, "pending")
	for range 5 {
		// Each update pokes the reconciler; none changes capacity.
		call(e.admin.API.UpdateHostWithResponse(ctx, "node-1", api.HostUpdate{Address: ptr("127.0.0.1")})).ok(t)
		time.Sleep(300 * time.Millisecond)
	}
	if after := decisions(t, e, "pending"); after != before {
		t.Fatalf("a pending instance was tried %d more times without a capacity change", after-before)
	}
	joinHost(t, e, "node-2", 4, 4096)
	deadline := time.Now().Add(5 * time.Second)
	for show(t, e.admin, "admin", "big").Host != "node-2" {
		if time.Now().After(deadline) {
			t.Fatal("not placed after a host joined")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runAll acts as the agents of hosts: it reports every assignment running.
func runAll(ctx context.Context, agents ...*client.Client) {
	for ctx.Err() == nil {
		for _, a := range agents {
			res, err := a.API.AgentAssignmentsWithResponse(ctx, &api.AgentAssignmentsParams{WaitMs: ptr(0)})
			if err != nil || res.JSON200 == nil {
				continue
			}
			var reports []api.InstanceReport
			for _, as := range res.JSON200.Instances {
				reports = append(reports, api.InstanceReport{ID: as.ID, Generation: as.Generation, Status: api.InstanceStatusRunning})
			}
			_, _ = a.API.AgentHeartbeatWithResponse(ctx, api.AgentHeartbeat{Instances: &reports})
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDrainMovesInstancesOneByOne(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.reconcile()
	tiers(t, e, "admin", 0)
	call(e.admin.API.UpdateClusterWithResponse(ctx, "default", api.ClusterUpdate{Strategy: ptr(api.StrategyBinpack)})).ok(t)
	h1 := joinHost(t, e, "node-1", 4, 8192)
	for n := range 3 {
		in := proc(fmt.Sprintf("w%d", n), 0.5, 256)
		in.Group, in.GroupPolicy = ptr("w"), ptr(api.GroupPolicySameHost)
		if i := create(t, e.admin, "admin", in); i.Host != "node-1" {
			t.Fatalf("w%d on %q", n, i.Host)
		}
	}
	h2 := joinHost(t, e, "node-2", 4, 8192)
	go runAll(ctx, h1, h2)

	// No agent reports the moved instance running: the drain waits after one.
	call(e.admin.API.UpdateHostWithResponse(ctx, "node-1", api.HostUpdate{State: ptr(api.HostSettableStateDraining)})).ok(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		h := call(e.admin.API.GetHostWithResponse(ctx, "node-1")).ok(t).JSON200
		if h.State == api.HostStateCordoned {
			if h.InstanceCount != 0 {
				t.Fatalf("drained host cordoned with %d instances", h.InstanceCount)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("drain stuck: %s with %d instances", h.State, h.InstanceCount)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for n := range 3 {
		i := show(t, e.admin, "admin", fmt.Sprintf("w%d", n))
		if i.Host != "node-2" {
			t.Fatalf("w%d on %q after the drain: its group went to h2", n, i.Host)
		}
		events := call(e.admin.API.ListInstanceEventsWithResponse(ctx, "admin", i.Name, nil)).ok(t).JSON200.Items
		if !strings.Contains(events[len(events)-2].Message+events[len(events)-1].Message, "moved off draining host node-1") {
			t.Fatalf("w%d events: %+v", n, events)
		}
	}
}

// TestTwoServersNeverOverfillAHost places from two servers on one
// PostgreSQL database at once: each decides on its own snapshot, and the
// host's row, read again under lock, lets exactly as many in as fit.
func TestTwoServersNeverOverfillAHost(t *testing.T) {
	dsn := testpg.Start(t)
	one, two := newEnvDSN(t, dsn), newEnvDSN(t, dsn)
	tiers(t, one, "admin", 0)
	joinHost(t, one, "node-1", 1, 8192)
	const n = 24
	errs := make(chan error, n)
	for k := range n {
		go func() {
			c := one.admin
			if k%2 == 1 {
				c = two.admin
			}
			res, err := c.API.CreateInstanceWithResponse(context.Background(), "admin", proc(fmt.Sprintf("i%d", k), 0.1, 64))
			if err == nil && res.StatusCode() != http.StatusCreated {
				err = fmt.Errorf("create i%d: %d %s", k, res.StatusCode(), res.Body)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	placed := 0
	for k := range n {
		if show(t, one.admin, "admin", fmt.Sprintf("i%d", k)).Host == "node-1" {
			placed++
		}
	}
	h := call(one.admin.API.GetHostWithResponse(context.Background(), "node-1")).ok(t).JSON200
	if placed != 10 || h.InstanceCount != 10 || h.Usage.CPU > 1+1e-9 {
		t.Fatalf("%d placed, host has %d instances and %.2f cpu used of 1", placed, h.InstanceCount, h.Usage.CPU)
	}
	if list := call(two.admin.API.ListHostsWithResponse(context.Background(), nil)).ok(t).JSON200.Items; len(list) != 1 || list[0].InstanceCount != 10 {
		t.Fatalf("host list: %+v", list)
	}
}

// TestBootStormLimitReachesAgents: the cluster's max_starting_per_host
// travels with the assignments.
func TestBootStormLimitReachesAgents(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	ctx := context.Background()
	agent := joinHost(t, e, "node-1", 4, 8192)
	if got := call(agent.API.AgentAssignmentsWithResponse(ctx, nil)).ok(t).JSON200.MaxStarting; got != 4 {
		t.Fatalf("default limit %d, want 4", got)
	}
	c := call(e.admin.API.UpdateClusterWithResponse(ctx, "default", api.ClusterUpdate{MaxStartingPerHost: ptr(2)})).ok(t).JSON200
	if c.MaxStartingPerHost != 2 {
		t.Fatalf("cluster says %d", c.MaxStartingPerHost)
	}
	if got := call(agent.API.AgentAssignmentsWithResponse(ctx, nil)).ok(t).JSON200.MaxStarting; got != 2 {
		t.Fatalf("agent told %d, want 2", got)
	}
}

// TestDrainLeavesWhatFitsNowhere: an instance no other host takes stays
// where it runs, says why, and the host stays draining; a placed
// instance's explanation says where it is.
func TestDrainLeavesWhatFitsNowhere(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	ctx := context.Background()
	e.reconcile()
	tiers(t, e, "admin", 0)
	agent := joinHost(t, e, "node-1", 4, 8192)
	only := create(t, e.admin, "admin", proc("only", 1, 256))
	ex := call(e.admin.API.ExplainInstanceWithResponse(ctx, "admin", "only")).ok(t).JSON200
	if ex.Host == nil || *ex.Host != "node-1" || !strings.HasPrefix(ex.Summary, "placed on host node-1") {
		t.Fatalf("explain of a placed instance: %+v", ex)
	}
	call(e.admin.API.UpdateHostWithResponse(ctx, "node-1", api.HostUpdate{State: ptr(api.HostSettableStateDraining)})).ok(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		events := call(e.admin.API.ListInstanceEventsWithResponse(ctx, "admin", "only", nil)).ok(t).JSON200.Items
		if last := events[len(events)-1]; last.Type == "drain_waiting" {
			if !strings.Contains(last.Message, "no other host fits") {
				t.Fatalf("drain_waiting says %q", last.Message)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no drain_waiting event: %+v", events)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The agent's reports write over the message; the timeline says it once.
	for n := range 3 {
		msg := fmt.Sprintf("report %d", n)
		call(agent.API.AgentHeartbeatWithResponse(ctx, api.AgentHeartbeat{Instances: &[]api.InstanceReport{
			{ID: only.ID, Generation: only.Generation, Status: api.InstanceStatusRunning, Message: &msg}}})).ok(t)
		time.Sleep(1100 * time.Millisecond)
	}
	waiting := 0
	for _, ev := range call(e.admin.API.ListInstanceEventsWithResponse(ctx, "admin", "only", nil)).ok(t).JSON200.Items {
		if ev.Type == "drain_waiting" {
			waiting++
		}
	}
	if waiting != 1 {
		t.Fatalf("%d drain_waiting events, want 1", waiting)
	}
	h := call(e.admin.API.GetHostWithResponse(ctx, "node-1")).ok(t).JSON200
	if i := show(t, e.admin, "admin", "only"); i.Host != "node-1" || h.State != api.HostStateDraining || h.InstanceCount != 1 {
		t.Fatalf("instance on %q, host %s with %d instances", i.Host, h.State, h.InstanceCount)
	}
}
