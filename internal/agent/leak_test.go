package agent

import (
	"context"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/api"
)

// agentFrame matches a stack frame in the agent's own (non-test) code.
var agentFrame = regexp.MustCompile(`/internal/agent/(health/)?[a-z]+\.go:\d+`)

// agentGoroutines lists the stacks of goroutines running agent code.
func agentGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if agentFrame.MatchString(g) {
			out = append(out, g)
		}
	}
	return out
}

// Run returns with nothing of the agent left running, even with streams
// open and health checks going.
func TestRunLeavesNoGoroutines(t *testing.T) {
	s := newFakeServer(t)
	ta := startAgent(t, s)
	asg := assignment("chatty", "sh", "-c", "while true; do echo tick; sleep 0.1; done")
	asg.Spec.HealthCheck = healthy(api.HealthCheckTypeExec)
	asg.Spec.HealthCheck.Command = &[]string{"true"}
	s.assign(asg)
	s.waitStatus(t, asg.ID, api.InstanceStatusRunning)

	logs, err := ta.dial(t, "/v1/instances/"+asg.ID+"/logs", url.Values{"follow": {"true"}})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.CloseNow()
	exec, err := ta.dial(t, "/v1/instances/"+asg.ID+"/exec", url.Values{"command": {"cat"}})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if _, _, err := logs.Read(ctx); err != nil {
		t.Fatal(err)
	}

	t.Log("stopping")
	ta.stop(t)
	t.Log("stopped")
	for {
		if _, _, err := logs.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the logs stream outlived the agent")
			}
			break
		}
	}
	t.Log("logs ended")
	var left []string
	eventually(t, "no agent goroutines", func() bool {
		left = agentGoroutines()
		return len(left) == 0
	})
	if len(left) > 0 {
		t.Fatalf("left running:\n%s", strings.Join(left, "\n\n"))
	}
}
