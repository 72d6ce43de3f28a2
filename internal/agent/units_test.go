package agent

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/agent/health"
	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// The agent talks to the server over HTTP only.
func TestNoServerImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, banned := range []string{"/internal/server", "/internal/store"} {
			if strings.HasPrefix(p, "github.com/nimbus-cloud/nimbus"+banned) {
				t.Errorf("the agent depends on %s", p)
			}
		}
	}
}

func TestBufferKeepsNewestUntilAcked(t *testing.T) {
	b := buffer[int]{limit: 3}
	for i := range 5 {
		b.add(i)
	}
	items, first := b.pending()
	if !slices.Equal(items, []int{2, 3, 4}) {
		t.Fatalf("pending %v", items)
	}
	end := first + uint64(len(items))
	// Arrivals while a report is in flight survive its acknowledgement,
	// even when some of what it carried was dropped meanwhile.
	b.add(5)
	b.add(6)
	if dropped := b.ack(end); dropped != 4 {
		t.Errorf("dropped %d, want 4", dropped)
	}
	if items, _ := b.pending(); !slices.Equal(items, []int{5, 6}) {
		t.Fatalf("after ack %v", items)
	}
	// A partial delivery drops only what it carried.
	_, first = b.pending()
	b.ack(first + 1)
	if items, _ := b.pending(); !slices.Equal(items, []int{6}) {
		t.Fatalf("after partial ack %v", items)
	}
	items, first = b.pending()
	b.ack(first + uint64(len(items)))
	if items, _ := b.pending(); len(items) != 0 {
		t.Fatalf("after third ack %v", items)
	}
}

func TestDriverSpec(t *testing.T) {
	cmd := []string{"app", "--port", "80"}
	env := map[string]string{"B": "2", "A": "1=one"}
	proto := api.PortMappingProtocolUDP
	asg := api.Assignment{
		ID:     "id-1",
		Name:   "web",
		Labels: map[string]string{"app": "web"},
		Spec: api.InstanceSpec{
			Driver:    api.InstanceDriverProcess,
			Command:   &cmd,
			Env:       &env,
			Workdir:   ptr("/srv"),
			CPU:       ptr(0.0015),
			MemoryMib: ptr(int64(256)),
			Ports:     &[]api.PortMapping{{HostPort: 8080, ContainerPort: 80}, {HostPort: 5353, ContainerPort: 53, Protocol: &proto}},
			Volumes:   &[]api.VolumeMount{{Source: "/data", Target: "/var/data", ReadOnly: ptr(true)}},
		},
	}
	s := driverSpec(asg)
	if s.ID != "id-1" || s.Name != "web" || s.WorkDir != "/srv" || s.MilliCPU != 2 || s.MemoryMiB != 256 {
		t.Errorf("spec %+v", s)
	}
	if !slices.Equal(s.Command, cmd) || !slices.Equal(s.Env, []string{"A=1=one", "B=2"}) {
		t.Errorf("command %q env %q", s.Command, s.Env)
	}
	if s.Labels["app"] != "web" || s.Labels[InstanceLabel] != "id-1" || len(asg.Labels) != 1 {
		t.Errorf("labels %v (assignment's %v)", s.Labels, asg.Labels)
	}
	wantPorts := []driver.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 5353, ContainerPort: 53, Protocol: "udp"}}
	if !slices.Equal(s.Ports, wantPorts) || len(s.Volumes) != 1 || !s.Volumes[0].ReadOnly {
		t.Errorf("ports %+v volumes %+v", s.Ports, s.Volumes)
	}
	if hp := hostPorts(asg.Spec); len(hp) != 1 || hp[80] != 8080 {
		t.Errorf("host ports %v", hp)
	}

	// The API's defaults stand in for what the server left out.
	s = driverSpec(api.Assignment{ID: "id-2", Spec: api.InstanceSpec{Driver: api.InstanceDriverProcess}})
	if s.MilliCPU != 100 || s.MemoryMiB != 128 || s.Labels[InstanceLabel] != "id-2" {
		t.Errorf("defaults %+v", s)
	}
}

func TestRestartPolicyOf(t *testing.T) {
	p := policyOf(api.InstanceSpec{})
	if p.policy != api.RestartPolicyPolicyOnFailure || p.maxRetries != 0 || !p.restarts(true) || p.restarts(false) {
		t.Errorf("default policy %+v", p)
	}
	var delays []time.Duration
	for n := 1; n <= 7; n++ {
		delays = append(delays, p.delay(n))
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i := range want {
		want[i] *= time.Second
	}
	if !slices.Equal(delays, want) {
		t.Errorf("delays %v, want %v", delays, want)
	}
	always, never := api.RestartPolicyPolicyAlways, api.RestartPolicyPolicyNever
	if p := policyOf(api.InstanceSpec{Restart: &api.RestartPolicy{Policy: &always}}); !p.restarts(false) {
		t.Error("always does not restart a success")
	}
	if p := policyOf(api.InstanceSpec{Restart: &api.RestartPolicy{Policy: &never}}); p.restarts(true) {
		t.Error("never restarts a failure")
	}
	if d := policyOf(api.InstanceSpec{Restart: &api.RestartPolicy{BackoffMs: ptr(0), MaxBackoffMs: ptr(0)}}).delay(5); d != 0 {
		t.Errorf("no back-off: %v", d)
	}
}

func TestHealthCheckOf(t *testing.T) {
	if _, ok := healthCheckOf(api.InstanceSpec{}); ok {
		t.Error("a check without a health_check")
	}
	none := api.HealthCheckTypeNone
	if _, ok := healthCheckOf(api.InstanceSpec{HealthCheck: &api.HealthCheck{Type: &none}}); ok {
		t.Error("a check of type none")
	}
	typ := api.HealthCheckTypeHTTP
	c, ok := healthCheckOf(api.InstanceSpec{HealthCheck: &api.HealthCheck{Type: &typ, Port: ptr(80)}})
	want := health.Check{Kind: health.HTTP, Port: 80, Path: "/", Interval: 10 * time.Second, Timeout: 3 * time.Second, Retries: 3}
	if !ok || c.Kind != want.Kind || c.Port != want.Port || c.Path != want.Path || c.Interval != want.Interval ||
		c.Timeout != want.Timeout || c.Retries != want.Retries || c.StartPeriod != 0 {
		t.Errorf("check %+v", c)
	}
}

func TestDescribeExit(t *testing.T) {
	for _, tc := range []struct {
		exit   driver.Exit
		status api.InstanceStatus
		event  string
		msg    string
		failed bool
	}{
		{driver.Exit{Code: 0}, api.InstanceStatusExited, "exited", "exited with code 0", false},
		{driver.Exit{Code: 3}, api.InstanceStatusFailed, "failed", "exited with code 3", true},
		{driver.Exit{Code: -1, Signal: 9}, api.InstanceStatusFailed, "failed", "killed by signal 9 (killed)", true},
		{driver.Exit{Code: -1, Signal: 9, OOMKilled: true}, api.InstanceStatusFailed, "oom_killed", "killed for exceeding its memory limit of 64 MiB", true},
		{driver.Exit{Code: -1, Err: errors.New("shim gone")}, api.InstanceStatusFailed, "failed", "lost track of it: shim gone", true},
	} {
		st, ev, msg, failed := describeExit(tc.exit, 64)
		if st != tc.status || ev != tc.event || msg != tc.msg || failed != tc.failed {
			t.Errorf("%+v: %s %s %q %v", tc.exit, st, ev, msg, failed)
		}
	}
}

func TestHostSampler(t *testing.T) {
	dir := t.TempDir()
	stat, meminfo := filepath.Join(dir, "stat"), filepath.Join(dir, "meminfo")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(meminfo, "MemTotal:        8000 kB\nMemFree:  100 kB\nMemAvailable:    3000 kB\n")
	write(stat, "cpu  100 0 100 1000 50 0 0 0 0 0\ncpu0 1 2 3 4\n")
	h := hostSampler{procStat: stat, memInfo: meminfo}
	t0 := time.Unix(1000, 0)
	if s, err := h.sample(t0); s != nil || err != nil {
		t.Fatalf("first sample %v, %v", s, err)
	}
	// 300 busy ticks (3 s of cpu) over 2 s: 1.5 cores. Idle and iowait
	// do not count.
	write(stat, "cpu  250 0 250 5000 900 0 0 0 0 0\n")
	s, err := h.sample(t0.Add(2 * time.Second))
	if err != nil || s == nil {
		t.Fatalf("second sample %v, %v", s, err)
	}
	if math.Abs(s.CPU-1.5) > 1e-9 || s.MemoryBytes != 5000*1024 || s.InstanceID != nil {
		t.Errorf("sample %+v", s)
	}
	write(meminfo, "MemTotal: 8000 kB\n")
	if _, err := h.sample(t0.Add(4 * time.Second)); err == nil {
		t.Error("meminfo without MemAvailable accepted")
	}
}

func TestChunks(t *testing.T) {
	s := []byte(strings.Repeat("é", 10)) // 2 bytes each
	parts := chunks(s, 5)
	var joined []byte
	for _, p := range parts {
		if len(p) > 5 || !utf8.Valid(p) {
			t.Errorf("chunk %q", p)
		}
		joined = append(joined, p...)
	}
	if string(joined) != string(s) {
		t.Errorf("joined %q", joined)
	}
	if got := chunks(nil, 5); len(got) != 1 || len(got[0]) != 0 {
		t.Errorf("chunks of nothing: %q", got)
	}
}

func TestAdvertisedURL(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7071}, "http://127.0.0.1:7071"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 7071}, "http://10.0.0.5:7071"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 7071}, "http://10.0.0.5:7071"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 7071}, "http://[::1]:7071"},
	} {
		if got := advertisedURL(tc.addr, "10.0.0.5"); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.addr, got, tc.want)
		}
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if err := makeStateDir(dir); err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1000, 0).UTC()
	r := record{
		Assignment: api.Assignment{ID: "a1", Generation: 3, Desired: api.DesiredStateRunning},
		Handle:     &driver.Handle{ID: "a1", Driver: "process", State: []byte(`{"pid":1}`)},
		Live:       true,
		Status:     api.InstanceStatusRunning,
		Restarts:   2,
		StartedAt:  &at,
	}
	if err := saveRecord(dir, r); err != nil {
		t.Fatal(err)
	}
	// A temporary file left by a crash is cleaned up, not read.
	if err := os.WriteFile(filepath.Join(dir, instancesDir, ".a2.json.123"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := loadRecords(dir)
	if err != nil || len(recs) != 1 {
		t.Fatalf("load: %v, %d records", err, len(recs))
	}
	got := recs[0]
	if got.Assignment.ID != "a1" || got.Handle == nil || string(got.Handle.State) != `{"pid":1}` || !got.Live || got.Restarts != 2 || !got.StartedAt.Equal(at) {
		t.Errorf("record %+v", got)
	}
	if err := removeRecord(dir, "a1"); err != nil {
		t.Fatal(err)
	}
	if recs, _ := loadRecords(dir); len(recs) != 0 {
		t.Errorf("after remove: %+v", recs)
	}
	if err := os.WriteFile(recordPath(dir, "bad"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadRecords(dir); err == nil {
		t.Error("a corrupt record loaded")
	}
}

// A host with more instance reports than fit in a heartbeat sends those
// the server has not taken yet, a heartbeat's worth at a time, then only
// what changes.
func TestReportsToSendStayUnderTheLimit(t *testing.T) {
	a := &Agent{}
	msg := strings.Repeat("m", 200)
	all := make([]api.InstanceReport, 5000)
	for i := range all {
		all[i] = api.InstanceReport{ID: fmt.Sprintf("%08d-0000-7000-8000-000000000000", i), Generation: 1,
			Status: api.InstanceStatusScheduled, Message: &msg}
	}
	seen := map[string]int{}
	for range 10 {
		send, left := a.reportsToSend(all)
		if size := jsonSize(send); size > maxInstanceReportBytes {
			t.Fatalf("%d bytes of reports in one heartbeat", size)
		}
		for _, r := range send {
			seen[r.ID]++
		}
		a.reportsTaken(all, send)
		if !left {
			break
		}
	}
	if len(seen) != len(all) {
		t.Fatalf("%d of %d reports sent", len(seen), len(all))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("report %s sent %d times", id, n)
		}
	}
	if send, left := a.reportsToSend(all); len(send) != 0 || left {
		t.Fatalf("%d unchanged reports sent again (left: %v)", len(send), left)
	}

	changed := slices.Clone(all[:len(all)-1]) // the last one is gone
	changed[7].Status = api.InstanceStatusRunning
	send, left := a.reportsToSend(changed)
	if len(send) != 1 || send[0].ID != all[7].ID || left {
		t.Fatalf("after one change: %d sent, left %v", len(send), left)
	}
	a.reportsTaken(changed, send)
	if len(a.taken) != len(changed) {
		t.Fatalf("%d reports remembered for %d instances", len(a.taken), len(changed))
	}

	// Reports that fit are all sent, every time.
	few := all[:10]
	if send, left := a.reportsToSend(few); len(send) != len(few) || left {
		t.Fatalf("few reports: %d sent, left %v", len(send), left)
	}
}
