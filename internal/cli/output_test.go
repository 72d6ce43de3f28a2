package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
)

var testUsers = []api.User{
	{Name: "alice", DisplayName: "Alice", Email: "alice@example.com", Enabled: true, PlatformAdmin: true,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	{Name: "bob", Enabled: false},
}

func TestRenderListTable(t *testing.T) {
	var buf bytes.Buffer
	cols := []column[api.User]{
		col("NAME", func(u api.User) string { return u.Name }),
		col("EMAIL", func(u api.User) string { return dash(u.Email) }),
		col("ENABLED", func(u api.User) string { return yesNo(u.Enabled) }),
	}
	if err := renderList(&buf, formatTable, testUsers, cols); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME   EMAIL              ENABLED\n" +
		"alice  alice@example.com  yes\n" +
		"bob    -                  no\n"
	if buf.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestRenderListData(t *testing.T) {
	var buf bytes.Buffer
	if err := renderList(&buf, formatJSON, testUsers[:1], userListCols); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name": "alice"`, `"platform_admin": true`, `"created_at": "2026-01-02T03:04:05Z"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("json lacks %s:\n%s", want, buf.String())
		}
	}
	if !strings.HasPrefix(buf.String(), "[") {
		t.Errorf("a list is a JSON array:\n%s", buf.String())
	}

	buf.Reset()
	if err := renderList(&buf, formatYAML, testUsers[:1], userListCols); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"- created_at: \"2026-01-02T03:04:05Z\"", "  name: alice", "  platform_admin: true"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("yaml lacks %q:\n%s", want, buf.String())
		}
	}

	buf.Reset()
	if err := renderList[api.User](&buf, formatJSON, nil, userListCols); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(buf.String()) != "[]" {
		t.Errorf("empty list = %q, want []", buf.String())
	}
}

func TestRenderOne(t *testing.T) {
	var buf bytes.Buffer
	h := &api.Host{Name: "node-01", Cluster: "default", State: api.HostStateReady,
		Capacity: api.Capacity{CPU: 8, MemoryMib: 16384, DiskMib: 102400, NetworkMbps: 1000},
		Labels:   map[string]string{"zone": "a", "rack": "r1"}}
	if err := renderOne(&buf, formatTable, h, hostCols); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"NAME:            node-01\n",
		"CAPACITY:        cpu 8, memory 16384 MiB, disk 102400 MiB, network 1000 Mbps\n",
		"LABELS:          rack=r1,zone=a\n",
		"LAST HEARTBEAT:  -\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	if err := renderOne(&buf, formatYAML, h, hostCols); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "labels:\n  rack: r1\n  zone: a\n") {
		t.Errorf("yaml:\n%s", buf.String())
	}
}

func TestQuotaTable(t *testing.T) {
	var out bytes.Buffer
	a := &app{out: &out, format: formatTable}
	q := &api.Quota{Tenant: "RD_Dept", Cluster: "default", Tiers: []api.QuotaTier{{
		Priority: 1,
		Limits:   api.Resources{CPU: 16, MemoryMib: 65536, StorageMib: 102400, NetworkMbps: 10240},
		Used:     api.Resources{CPU: 2.5, MemoryMib: 4096},
	}}}
	if err := a.printQuota(q); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Quota of RD_Dept on cluster default",
		"PRIORITY  CPU     MEMORY MiB  STORAGE MiB  NETWORK Mbps\n",
		"1         2.5/16  4096/65536  0/102400     0/10240\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("quota table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCollect(t *testing.T) {
	pages := map[string][]int{"": {1, 2}, "p2": {3, 4}, "p3": {5}}
	nextOf := map[string]string{"": "p2", "p2": "p3", "p3": ""}
	var limits []int
	fetch := func(limit int, token string) ([]int, string, error) {
		limits = append(limits, limit)
		items, ok := pages[token]
		if !ok {
			return nil, "", fmt.Errorf("bad token %q", token)
		}
		return items, nextOf[token], nil
	}

	items, next, err := collect(pager{limit: 2}, fetch)
	if err != nil || len(items) != 2 || next != "p2" {
		t.Errorf("one page = %v, %q, %v", items, next, err)
	}
	items, next, err = collect(pager{limit: 2, token: "p2"}, fetch)
	if err != nil || len(items) != 2 || items[0] != 3 || next != "p3" {
		t.Errorf("from a token = %v, %q, %v", items, next, err)
	}
	limits = nil
	items, next, err = collect(pager{limit: defaultLimit, all: true}, fetch)
	if err != nil || len(items) != 5 || next != "" {
		t.Errorf("--all = %v, %q, %v", items, next, err)
	}
	if len(limits) != 3 || limits[0] != maxLimit {
		t.Errorf("--all fetched with limits %v, want 3 pages of %d", limits, maxLimit)
	}
	if _, _, err := collect(pager{limit: 0}, fetch); err == nil {
		t.Error("--limit 0: want an error")
	}
	boom := errors.New("boom")
	if _, _, err := collect(pager{limit: 1}, func(int, string) ([]int, string, error) { return nil, "", boom }); !errors.Is(err, boom) {
		t.Errorf("fetch error = %v", err)
	}
}

func TestMoreHint(t *testing.T) {
	var out, errOut bytes.Buffer
	a := &app{out: &out, errOut: &errOut, format: formatJSON}
	if err := printList(a, testUsers, "tok123", userListCols); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "--page-token tok123") {
		t.Errorf("stderr = %q, want the next page token", errOut.String())
	}
	if strings.Contains(out.String(), "tok123") {
		t.Errorf("the hint must stay off stdout: %s", out.String())
	}
}

func TestReport(t *testing.T) {
	var out bytes.Buffer
	a := &app{out: &out, format: formatTable}
	if err := a.report(&api.Member{Name: "alice"}, "User %s is now %s of %s.", "alice", "admin", "RD"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "User alice is now admin of RD.\n" {
		t.Errorf("table report = %q", out.String())
	}
	out.Reset()
	a.format = formatJSON
	if err := a.report(&api.Member{Name: "alice"}, "ignored"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"name": "alice"`) {
		t.Errorf("json report = %q", out.String())
	}
}
