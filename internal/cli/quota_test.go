package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/api"
)

func TestParseTier(t *testing.T) {
	got, err := parseTier("priority=1, cpu=0.5,memory=65536,storage_mib=102400,network=10240")
	if err != nil {
		t.Fatal(err)
	}
	want := api.QuotaTierSpec{Priority: ptr(1), CPU: ptr(0.5), MemoryMib: ptr[int64](65536), StorageMib: ptr[int64](102400), NetworkMbps: ptr[int64](10240)}
	if *got.Priority != *want.Priority || *got.CPU != *want.CPU || *got.MemoryMib != *want.MemoryMib ||
		*got.StorageMib != *want.StorageMib || *got.NetworkMbps != *want.NetworkMbps {
		t.Errorf("parseTier = %+v, want %+v", got, want)
	}

	partial, err := parseTier("cpu=16")
	if err != nil {
		t.Fatal(err)
	}
	if partial.Priority != nil || partial.MemoryMib != nil || partial.StorageMib != nil || partial.NetworkMbps != nil {
		t.Errorf("omitted keys must stay nil for the server's defaults: %+v", partial)
	}
}

func TestParseTierErrors(t *testing.T) {
	tests := []struct {
		spec string
		want string // in the error
	}{
		{"", "empty"},
		{"cpu=16,gpu=2", `unknown key "gpu"`},
		{"cpu", `"cpu" is not KEY=VALUE`},
		{"cpu=abc", `cpu="abc"`},
		{"cpu=0", "above 0"},
		{"cpu=NaN", "above 0"},
		{"memory=-1", `memory="-1"`},
		{"storage=1.5", `storage="1.5"`},
		{"network=0", "Mbit/s above 0"},
		{"priority=1001", "0 to 1000"},
		{"priority=-1", "0 to 1000"},
		{"cpu=1,cpu=2", "cpu given twice"},
	}
	for _, tt := range tests {
		_, err := parseTier(tt.spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseTier(%q) = %v, want an error with %q", tt.spec, err, tt.want)
		}
	}
}

func TestParseTiers(t *testing.T) {
	tiers, err := parseTiers([]string{"priority=0,cpu=16", "priority=1,cpu=8"})
	if err != nil || len(tiers) != 2 {
		t.Fatalf("parseTiers = %v, %v", tiers, err)
	}
	if _, err := parseTiers(nil); err == nil {
		t.Error("no tiers: want an error")
	}
	// Priority defaults to 0, so two tiers without one collide.
	if _, err := parseTiers([]string{"cpu=16", "cpu=8"}); err == nil || !strings.Contains(err.Error(), "priority 0") {
		t.Errorf("duplicate default priority: got %v", err)
	}
	many := make([]string, maxTiers+1)
	for i := range many {
		many[i] = fmt.Sprintf("priority=%d", i)
	}
	if _, err := parseTiers(many); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("%d tiers: got %v", len(many), err)
	}
}

func TestQuotaTargetArgs(t *testing.T) {
	var q quotaTarget
	if got, err := q.tenant(t.Context(), nil, []string{"RD_Dept"}); err != nil || got != "RD_Dept" {
		t.Errorf("tenant = %q, %v", got, err)
	}
	if _, err := q.tenant(t.Context(), nil, nil); err == nil {
		t.Error("neither TENANT nor --user: want an error")
	}
	q.user = "alice"
	if _, err := q.tenant(t.Context(), nil, []string{"RD_Dept"}); err == nil {
		t.Error("both TENANT and --user: want an error")
	}
}

func TestQuotaRows(t *testing.T) {
	quotas := []api.Quota{
		{Tenant: "a", Cluster: "default", Tiers: []api.QuotaTier{{Priority: 0}, {Priority: 1}}},
		{Tenant: "b", Cluster: "edge", Tiers: []api.QuotaTier{{Priority: 0}}},
	}
	rows := quotaRows(quotas)
	if len(rows) != 3 || rows[1].quota.Tenant != "a" || rows[1].tier.Priority != 1 || rows[2].quota.Tenant != "b" {
		t.Errorf("quotaRows = %+v", rows)
	}
	if got := onCluster(quotas, "edge"); len(got) != 1 || got[0].Tenant != "b" {
		t.Errorf("onCluster = %+v", got)
	}
}
