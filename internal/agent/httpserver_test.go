package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/api/stream"
)

// dial opens a websocket to the agent as the server does.
func (ta *testAgent) dial(t *testing.T, path string, q url.Values) (*websocket.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	u := strings.Replace(ta.URL(), "http://", "ws://", 1) + path + "?" + q.Encode()
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + ta.creds.AgentKey}},
	})
	return c, err
}

// readLogs reads a logs stream to its end.
func readLogs(t *testing.T, c *websocket.Conn) ([]api.LogEntry, websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	var out []api.LogEntry
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return out, websocket.CloseStatus(err)
		}
		var e api.LogEntry
		if typ != websocket.MessageText || json.Unmarshal(msg, &e) != nil {
			t.Fatalf("logs message %v %q", typ, msg)
		}
		out = append(out, e)
	}
}

func joinData(entries []api.LogEntry, stream string) string {
	var b strings.Builder
	for _, e := range entries {
		if string(e.Stream) == stream {
			b.WriteString(e.Data)
		}
	}
	return b.String()
}

func TestLogs(t *testing.T) {
	s := newFakeServer(t)
	ta := startAgent(t, s)
	asg := assignment("talker", "sh", "-c", "echo hello; echo oops >&2; echo world; exec sleep 1000")
	s.assign(asg)
	s.waitStatus(t, asg.ID, api.InstanceStatusRunning)
	path := "/v1/instances/" + asg.ID + "/logs"

	var entries []api.LogEntry
	eventually(t, "the whole output in the logs", func() bool {
		c, err := ta.dial(t, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		var code websocket.StatusCode
		entries, code = readLogs(t, c)
		if code != websocket.StatusNormalClosure {
			t.Fatalf("logs closed with %v", code)
		}
		// The driver may write the two lines of stdout as one entry.
		return joinData(entries, "stdout") == "hello\nworld\n" && joinData(entries, "stderr") == "oops\n"
	})
	if entries[0].Time.IsZero() {
		t.Errorf("entry without time: %+v", entries[0])
	}

	c, err := ta.dial(t, path, url.Values{"tail": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	// The last line of the history, whichever stream wrote it last.
	last := entries[len(entries)-1]
	lines := strings.SplitAfter(strings.TrimSuffix(last.Data, "\n"), "\n")
	wantTail := lines[len(lines)-1] + "\n"
	if tail, code := readLogs(t, c); len(tail) != 1 || tail[0].Data != wantTail || tail[0].Stream != last.Stream || code != websocket.StatusNormalClosure {
		t.Errorf("tail=1: %+v, %v; want %q", tail, code, wantTail)
	}

	// Following: the history, then the stream stays open until the peer
	// leaves.
	c, err = ta.dial(t, path, url.Values{"follow": {"true"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for n := 0; n < len(entries); n++ {
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	_, _, err = c.Read(short)
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("follow ended: %v", err)
	}
	c.CloseNow()
}

// Every request needs the agent key; unknown instances and bad parameters
// are refused before the upgrade.
func TestStreamRefusals(t *testing.T) {
	s := newFakeServer(t)
	ta := startAgent(t, s)
	asg := assignment("quiet", "sleep", "1000")
	s.assign(asg)
	s.waitStatus(t, asg.ID, api.InstanceStatusRunning)

	get := func(path, auth string) int {
		req, _ := http.NewRequest(http.MethodGet, ta.URL()+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	key := "Bearer " + ta.creds.AgentKey
	logs := "/v1/instances/" + asg.ID + "/logs"
	exec := "/v1/instances/" + asg.ID + "/exec?command=true"
	for _, tc := range []struct {
		path, auth string
		want       int
	}{
		{logs, "", http.StatusUnauthorized},
		{logs, "Bearer nope", http.StatusUnauthorized},
		{exec, "", http.StatusUnauthorized},
		{exec, "Bearer " + s.credential, http.StatusUnauthorized},
		{"/v1/instances/nope/logs", key, http.StatusNotFound},
		{"/v1/instances/nope/exec?command=true", key, http.StatusNotFound},
		{logs + "?tail=-1", key, http.StatusBadRequest},
		{logs + "?follow=maybe", key, http.StatusBadRequest},
		{logs + "?path=relative", key, http.StatusBadRequest},
		{"/v1/instances/" + asg.ID + "/exec", key, http.StatusBadRequest},
	} {
		if got := get(tc.path, tc.auth); got != tc.want {
			t.Errorf("GET %s with %q: %d, want %d", tc.path, tc.auth, got, tc.want)
		}
	}
	if _, err := ta.dial(t, "/v1/instances/nope/logs", nil); err == nil {
		t.Error("websocket to an unknown instance opened")
	}
}

// execResult is what an exec session produced.
type execResult struct {
	stdout, stderr string
	exit           stream.Exit
	close          websocket.StatusCode
}

// runExec runs a session: it sends each input (binary as stdin, a Control
// as text) and reads to the end.
func runExec(t *testing.T, ta *testAgent, id string, q url.Values, inputs ...any) execResult {
	t.Helper()
	c, err := ta.dial(t, "/v1/instances/"+id+"/exec", q)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for _, in := range inputs {
		switch v := in.(type) {
		case string:
			err = c.Write(ctx, websocket.MessageBinary, []byte(v))
		case stream.Control:
			msg, _ := json.Marshal(v)
			err = c.Write(ctx, websocket.MessageText, msg)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var res execResult
	var stdout, stderr strings.Builder
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			res.stdout, res.stderr, res.close = stdout.String(), stderr.String(), websocket.CloseStatus(err)
			return res
		}
		if typ == websocket.MessageText {
			if err := stream.ParseText(msg, &res.exit); err != nil {
				t.Fatal(err)
			}
			continue
		}
		s, data, err := stream.ParseOutput(msg)
		if err != nil {
			t.Fatal(err)
		}
		if s == stream.StdoutByte {
			stdout.Write(data)
		} else {
			stderr.Write(data)
		}
	}
}

func TestExec(t *testing.T) {
	s := newFakeServer(t)
	ta := startAgent(t, s)
	asg := assignment("box", "sleep", "1000")
	s.assign(asg)
	s.waitStatus(t, asg.ID, api.InstanceStatusRunning)
	closeStdin := stream.Control{CloseStdin: true}

	t.Run("exit code and streams", func(t *testing.T) {
		r := runExec(t, ta, asg.ID, url.Values{"command": {"sh", "-c", "echo out; echo err >&2; exit 7"}}, closeStdin)
		if r.stdout != "out\n" || r.stderr != "err\n" || r.exit.ExitCode != 7 || r.exit.Error != "" || r.close != websocket.StatusNormalClosure {
			t.Errorf("%+v", r)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		r := runExec(t, ta, asg.ID, url.Values{"command": {"cat"}}, "ping\n", "pong\n", closeStdin)
		if r.stdout != "ping\npong\n" || r.exit.ExitCode != 0 || r.close != websocket.StatusNormalClosure {
			t.Errorf("%+v", r)
		}
	})
	t.Run("tty", func(t *testing.T) {
		r := runExec(t, ta, asg.ID, url.Values{"command": {"sh"}, "tty": {"true"}},
			stream.Control{Resize: &stream.Size{Rows: 24, Cols: 80}},
			"echo $((6*7))\n", "exit 3\n")
		if !strings.Contains(r.stdout, "42") || r.exit.ExitCode != 3 || r.close != websocket.StatusNormalClosure {
			t.Errorf("%+v", r)
		}
	})
	t.Run("no such program", func(t *testing.T) {
		r := runExec(t, ta, asg.ID, url.Values{"command": {"/nonexistent"}}, closeStdin)
		t.Logf("%+v", r)
		if r.exit.ExitCode == 0 || r.close != websocket.StatusNormalClosure {
			t.Errorf("%+v", r)
		}
	})
}
