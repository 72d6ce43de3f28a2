package cli

import (
	"bufio"
	"context"
	"fmt"
	"github.com/nimbus-cloud/nimbus/internal/driver/docker"
	"github.com/nimbus-cloud/nimbus/internal/driver/process"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

// execEnv makes the test binary run the nimbus CLI instead of the tests, so
// that tests can run `nimbus dev` as a real process and kill it.
const execEnv = "NIMBUS_CLI_TEST_EXEC"

func TestMain(m *testing.M) {
	if process.Reexec() || docker.Reexec() {
		return
	}
	if os.Getenv(execEnv) == "1" {
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// startDev runs `nimbus dev` on dir as a child process and returns it with
// the URL it serves.
func startDev(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "dev", "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), execEnv+"=1", "NIMBUS_ADMIN_PASSWORD=crash-admin-1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`running at (http://\S+)`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case url := <-urls:
		return cmd, url
	case <-time.After(30 * time.Second):
		t.Fatal("nimbus dev printed no URL")
	}
	return nil, ""
}

// TestKillDuringBatchLosesNothingHalfWay kills `nimbus dev` with SIGKILL
// while it writes a batch of 5000 users, restarts it on the same data, and
// checks that the batch is there whole, with its audit record, or not at
// all: a mutation is one transaction.
func TestKillDuringBatchLosesNothingHalfWay(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	// The kills land before, during and (delay 0: once the answer came)
	// after the batch's commit.
	for round, delay := range []time.Duration{10 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond, 0} {
		cmd, url := startDev(t, dir)
		admin := loginAs(t, url, "admin", "crash-admin-1")
		prefix := fmt.Sprintf("crash%d-", round)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = admin.API.BatchCreateUsersWithResponse(ctx, api.UserBatchCreate{Prefix: prefix, Range: "0001-5000", Password: "Initial-Pass-1"})
		}()
		if delay == 0 {
			<-done
		}
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
		_ = cmd.Wait()

		_, url = startDev(t, dir)
		admin = loginAs(t, url, "admin", "crash-admin-1")
		n := 0
		for token := ""; ; {
			users, err := admin.API.ListUsersWithResponse(ctx, &api.ListUsersParams{NamePrefix: ptrTo(prefix), Limit: ptrTo(1000), PageToken: ptrTo(token)})
			if err != nil || users.JSON200 == nil {
				t.Fatalf("list users after restart: %v", err)
			}
			n += len(users.JSON200.Items)
			if token = users.JSON200.NextPageToken; token == "" {
				break
			}
		}
		audit, err := admin.API.ListAuditWithResponse(ctx, &api.ListAuditParams{Action: ptrTo("user.batch_create"), Result: ptrTo(api.AuditResultSuccess)})
		if err != nil || audit.JSON200 == nil {
			t.Fatalf("list audit after restart: %v", err)
		}
		audited := 0
		for _, rec := range audit.JSON200.Items {
			if len(rec.ObjectName) >= len(prefix) && rec.ObjectName[:len(prefix)] == prefix {
				audited++
			}
		}
		t.Logf("round %d: %d users listed after the kill, %d audit records", round, n, audited)
		if (n != 0 && n != 5000) || (n == 0) != (audited == 0) || (delay == 0 && n == 0) {
			t.Fatalf("round %d: a killed batch left %d users and %d audit records: want all 5000 with a record, or nothing", round, n, audited)
		}
	}
}

func loginAs(t *testing.T, url, name, password string) *client.Client {
	t.Helper()
	anon, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	res, err := anon.API.LoginWithResponse(context.Background(), api.LoginRequest{Username: name, Password: password})
	if err != nil || res.JSON201 == nil {
		t.Fatalf("login: %v", err)
	}
	c, err := client.New(url, client.WithToken(res.JSON201.Token))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptrTo[T any](v T) *T { return &v }
