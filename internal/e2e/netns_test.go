package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/testreq"
)

// agentEnv makes the test binary run `nimbus agent` (see TestMain).
const agentEnv = "NIMBUS_E2E_AGENT"

// netHost is a host made of a network namespace joined to this one by a
// veth pair, with a `nimbus agent` process inside.
type netHost struct {
	name     string
	ns       string
	hostVeth string
	hostIP   string // this side of the veth: where the agent reaches the server
	nsIP     string // the namespace's side: where the agent listens
	stateDir string
	cmd      *exec.Cmd
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newNetHost creates namespace number i of this test process.
func newNetHost(t *testing.T, i int) *netHost {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		testreq.Missing(t, "iproute2", "no ip command")
	}
	pid := os.Getpid()
	subnet := fmt.Sprintf("10.%d.%d", 200+pid%50, (pid/50)%200+i)
	h := &netHost{name: fmt.Sprintf("nshost-%d", i), ns: fmt.Sprintf("nimbus-e2e-%d-%d", pid, i),
		hostVeth: fmt.Sprintf("nb%dh%d", pid%100000, i), hostIP: subnet + ".1", nsIP: subnet + ".2", stateDir: t.TempDir()}
	peer := fmt.Sprintf("nb%dn%d", pid%100000, i)
	run(t, "ip", "netns", "add", h.ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", h.ns).Run() })
	run(t, "ip", "link", "add", h.hostVeth, "type", "veth", "peer", "name", peer)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", h.hostVeth).Run() })
	run(t, "ip", "link", "set", peer, "netns", h.ns)
	run(t, "ip", "addr", "add", h.hostIP+"/24", "dev", h.hostVeth)
	run(t, "ip", "link", "set", h.hostVeth, "up")
	run(t, "ip", "netns", "exec", h.ns, "ip", "addr", "add", h.nsIP+"/24", "dev", peer)
	run(t, "ip", "netns", "exec", h.ns, "ip", "link", "set", peer, "up")
	run(t, "ip", "netns", "exec", h.ns, "ip", "link", "set", "lo", "up")
	return h
}

// start runs `nimbus agent` inside the namespace (the test binary plays
// nimbus); token is needed on the first start only.
func (h *netHost) start(t *testing.T, serverURL, token string) {
	t.Helper()
	// nsenter switches the network namespace only; `ip netns exec` would
	// also remount /sys, hiding the cgroup hierarchies from the agent.
	args := []string{"--net=/var/run/netns/" + h.ns, os.Args[0], "agent", "--server", serverURL, "--state-dir", h.stateDir,
		"--listen", h.nsIP + ":7071", "--host-name", h.name, "--log-level", "warn"}
	if token != "" {
		args = append(args, "--join-token", token)
	}
	cmd := exec.Command("nsenter", args...)
	cmd.Env = append(os.Environ(), agentEnv+"=1")
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.cmd = cmd
	t.Cleanup(func() { h.kill() })
}

// kill ends the agent with SIGKILL; its instances keep running until they
// fence themselves.
func (h *netHost) kill() {
	if h.cmd == nil {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	_ = h.cmd.Wait()
	h.cmd = nil
}

// link takes the host's side of the veth up or down.
func (h *netHost) link(t *testing.T, up bool) {
	state := "down"
	if up {
		state = "up"
	}
	run(t, "ip", "link", "set", h.hostVeth, state)
}

// copies counts the processes carrying marker in their environment and
// running sleep: the copies of one instance.
func copies(marker string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, []byte(marker)) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if bytes.HasPrefix(cmdline, []byte("sleep\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// watchCopies samples the copies of marker until the test ends and keeps
// the most seen at once.
func watchCopies(t *testing.T, marker string) *atomic.Int64 {
	var most atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if n := int64(len(copies(marker))); n > most.Load() {
				most.Store(n)
				t.Logf("%d copies at once of the instance", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return &most
}

// serveOn serves e's API on each address too (the namespaces' way in).
func (e *env) serveOn(t *testing.T, handler http.Handler, addrs ...string) map[string]string {
	urls := map[string]string{}
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a+":0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = hs.Serve(ln) }()
		t.Cleanup(func() { _ = hs.Close() })
		urls[a] = "http://" + ln.Addr().String()
	}
	return urls
}

// TestAgentsInNamespaces runs two agents as separate processes, each in its
// own network namespace, against one server. An instance must never run
// twice: not when its agent is killed with SIGKILL and later restarted,
// and not when its agent is cut off from the server and later reconnected.
func TestAgentsInNamespaces(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Separate processes under the race detector on two busy cores: a
	// timeout of 6 s (fencing after 3.6 s) keeps healthy agents from
	// fencing themselves when a heartbeat is slow.
	const timeout = 6 * time.Second
	call(e.admin.API.UpdateClusterWithResponse(ctx, "default", api.ClusterUpdate{HeartbeatTimeoutSeconds: ptr(int(timeout / time.Second))})).ok(t)
	hosts := []*netHost{newNetHost(t, 1), newNetHost(t, 2)}
	urls := e.serveOn(t, e.handler, hosts[0].hostIP, hosts[1].hostIP)
	for _, h := range hosts {
		jt := call(e.admin.API.CreateJoinTokenWithResponse(ctx, "default", api.JoinTokenCreate{})).ok(t)
		h.start(t, urls[h.hostIP], jt.JSON201.Token)
		e.waitHost(h.name, api.HostStateReady, 15*time.Second)
	}
	// The agent of the test process's own machine is not running: only the
	// two namespaced hosts can take the instance.
	marker := "NIMBUS_E2E_MARK=" + rand.Text()
	key, val, _ := strings.Cut(marker, "=")
	call(e.admin.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: "solo", Spec: api.InstanceSpec{
		Driver: api.InstanceDriverProcess, Command: &[]string{"sleep", "3600"}, Env: &map[string]string{key: val},
		MemoryMib: ptr(int64(32)), CPU: ptr(0.1)}})).ok(t)
	t.Cleanup(func() {
		for _, pid := range copies(marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	most := watchCopies(t, marker)
	first := e.waitStatus(e.admin, "admin", "solo", api.InstanceStatusRunning, 15*time.Second)
	byName := map[string]*netHost{hosts[0].name: hosts[0], hosts[1].name: hosts[1]}
	victim := byName[first.Host]
	other := hosts[0]
	if victim == hosts[0] {
		other = hosts[1]
	}

	parent := t
	t.Run("kill -9", func(t *testing.T) {
		killed := time.Now()
		victim.kill()
		moved := e.waitPlaced("solo", other.name, api.InstanceStatusRunning, timeout+5*time.Second)
		t.Logf("running on %s %s after the kill (generation %d)", moved.Host, time.Since(killed).Round(time.Millisecond), moved.Generation)
		victim.start(parent, urls[victim.hostIP], "")
		e.waitHost(victim.name, api.HostStateReady, 15*time.Second)
		e.eventually(10*time.Second, "exactly one copy", func() (bool, string) {
			n := len(copies(marker))
			return n == 1, fmt.Sprint(n, " copies")
		})
	})
	t.Run("partition", func(t *testing.T) {
		now := call(e.admin.API.GetInstanceWithResponse(ctx, "admin", "solo")).ok(t).JSON200
		cut := byName[now.Host]
		peer := hosts[0]
		if cut == hosts[0] {
			peer = hosts[1]
		}
		cutAt := time.Now()
		cut.link(t, false)
		moved := e.waitPlaced("solo", peer.name, api.InstanceStatusRunning, timeout+5*time.Second)
		t.Logf("running on %s %s after the cut (generation %d)", moved.Host, time.Since(cutAt).Round(time.Millisecond), moved.Generation)
		cut.link(t, true)
		e.waitHost(cut.name, api.HostStateReady, 15*time.Second)
		e.eventually(15*time.Second, "exactly one copy after healing", func() (bool, string) {
			n := len(copies(marker))
			return n == 1, fmt.Sprint(n, " copies")
		})
	})
	if n := most.Load(); n > 1 {
		t.Fatalf("%d copies of the instance ran at once", n)
	}
	call(e.admin.API.DeleteInstanceWithResponse(ctx, "admin", "solo")).ok(t)
	e.eventually(15*time.Second, "no copy after delete", func() (bool, string) {
		n := len(copies(marker))
		return n == 0, fmt.Sprint(n, " copies")
	})
}

// waitHost waits for a host's state.
func (e *env) waitHost(name string, want api.HostState, timeout time.Duration) {
	e.t.Helper()
	e.eventually(timeout, "host "+name+" "+string(want), func() (bool, string) {
		res, err := e.admin.API.GetHostWithResponse(context.Background(), name)
		if err != nil || res.JSON200 == nil {
			return false, fmt.Sprint(err)
		}
		return res.JSON200.State == want, string(res.JSON200.State)
	})
}

// waitPlaced waits until the admin's instance has a status on a host.
func (e *env) waitPlaced(name, host string, want api.InstanceStatus, timeout time.Duration) api.Instance {
	e.t.Helper()
	var got api.Instance
	e.eventually(timeout, fmt.Sprintf("instance %s %s on %s", name, want, host), func() (bool, string) {
		res, err := e.admin.API.GetInstanceWithResponse(context.Background(), "admin", name)
		if err != nil || res.JSON200 == nil {
			return false, fmt.Sprint(err)
		}
		got = *res.JSON200
		return got.Host == host && got.Status == want, fmt.Sprintf("%s on %q", got.Status, got.Host)
	})
	return got
}
