package cli

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/agent"
	"github.com/nimbus-cloud/nimbus/internal/hostinfo"
	"github.com/nimbus-cloud/nimbus/internal/server"
	"github.com/nimbus-cloud/nimbus/internal/store/sqlstore"
)

// tourCommands returns the nimbus commands of the README's short tour.
func tourCommands(t *testing.T) [][]string {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "## A short tour")
	if !ok {
		t.Fatal("README has no short tour")
	}
	_, block, _ := strings.Cut(after, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	block = strings.ReplaceAll(block, "\\\n", " ")
	var cmds [][]string
	for _, line := range strings.Split(block, "\n") {
		words := shellWords(line)
		if len(words) > 1 && words[0] == "nimbus" {
			cmds = append(cmds, words[1:])
		}
	}
	return cmds
}

// shellWords splits a command line as sh would for the tour's simple
// quoting; a # outside quotes starts a comment.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '#' && !inWord:
			return words
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestReadmeTour runs every command of the README's short tour, in order,
// against a real server on SQLite with this machine as its host.
func TestReadmeTour(t *testing.T) {
	isolate(t)
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "nimbus.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	info, err := hostinfo.Detect(dir)
	if err != nil {
		t.Fatal(err)
	}
	boot, err := server.Bootstrap(ctx, st, server.BootstrapOptions{AdminPassword: "tour-admin-1", LocalHost: &info})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	t.Setenv("NIMBUS_PASSWORD", "tour-admin-1")
	// As `nimbus dev` does: reconcilers, and this machine's agent.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = srv.Run(runCtx) }()
	token, err := server.DevSetup(ctx, st, true)
	if err != nil {
		t.Fatal(err)
	}
	agentDone := make(chan error, 1)
	go func() {
		agentDone <- runAgent(runCtx, agent.Config{Server: hs.URL, JoinToken: token, StateDir: filepath.Join(dir, "agent"),
			Listen: "127.0.0.1:0", HostName: boot.HostName, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	defer func() { stop(); <-agentDone }()

	cmds := tourCommands(t)
	if len(cmds) < 10 {
		t.Fatalf("found %d tour commands; is the README block intact?", len(cmds))
	}
	outputs := map[string]string{}
	for _, args := range cmds {
		for i, a := range args {
			args[i] = strings.NewReplacer("http://127.0.0.1:7070", hs.URL, "<HOST>", boot.HostName).Replace(a)
		}
		stdout, stderr, err := runCLI(t, "", args...)
		if err != nil {
			t.Fatalf("nimbus %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
		}
		outputs[strings.Join(args, " ")] = stdout
	}
	for cmd, want := range map[string]string{
		"whoami":                                "admin",
		"tenant members RD_Dept":                "rduser050",
		"quota show RD_Dept --cluster default":  "0/32768",
		"host list --label zone=a --label !gpu": boot.HostName,
		"audit list --tenant RD_Dept":           "user.batch_create",
		"audit list --action user. -o json":     `"user.batch_create"`,
		"instance logs hello":                   "hello from nimbus",
		"instance exec hello -- hostname":       "hello",
		"instance events hello":                 "running",
		"instance explain gpu-job":              "labels not matched (gpu)",
		"host uncordon " + boot.HostName:        "is ready",
		"host join-command --cluster default":   "nimbus agent --server",
	} {
		if got, ok := outputs[cmd]; !ok || !strings.Contains(got, want) {
			t.Errorf("nimbus %s: output lacks %q:\n%s", cmd, want, got)
		}
	}
}
