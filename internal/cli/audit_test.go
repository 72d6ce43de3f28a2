package cli

import (
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-01-02T15:04:05Z", time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{"1h", now.Add(-time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
		{"7d", now.Add(-7 * 24 * time.Hour)},
		{"0s", now},
	}
	for _, tt := range tests {
		got, err := parseWhen(tt.in, now)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-1h", "1.5d", "2026-01-02"} {
		if _, err := parseWhen(bad, now); err == nil {
			t.Errorf("parseWhen(%q): want an error", bad)
		}
	}
}

func TestAuditParams(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	p, err := auditFlags{tenant: "RD_Dept", action: "user.", result: "failure", since: "2h", until: "1h"}.params(now)
	if err != nil {
		t.Fatal(err)
	}
	if *p.Tenant != "RD_Dept" || *p.Action != "user." || string(*p.Result) != "failure" || p.Actor != nil {
		t.Errorf("params = %+v", p)
	}
	if !p.Since.Equal(now.Add(-2*time.Hour)) || !p.Until.Equal(now.Add(-time.Hour)) {
		t.Errorf("since %v until %v", p.Since, p.Until)
	}
	if _, err := (auditFlags{result: "maybe"}).params(now); err == nil {
		t.Error("--result maybe: want an error")
	}
	if _, err := (auditFlags{since: "1h", until: "2h"}).params(now); err == nil {
		t.Error("--since after --until: want an error")
	}
	if _, err := (auditFlags{until: "soon"}).params(now); err == nil {
		t.Error("--until soon: want an error")
	}
}
