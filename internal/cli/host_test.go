package cli

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLabelArgs(t *testing.T) {
	set, remove, err := parseLabelArgs([]string{"zone=a", "rack=r1", "gpu-", "empty=", "topology.k8s.io/zone=x"})
	if err != nil {
		t.Fatal(err)
	}
	wantSet := map[string]string{"zone": "a", "rack": "r1", "empty": "", "topology.k8s.io/zone": "x"}
	if !reflect.DeepEqual(set, wantSet) {
		t.Errorf("set = %v, want %v", set, wantSet)
	}
	if !reflect.DeepEqual(remove, []string{"gpu"}) {
		t.Errorf("remove = %v, want [gpu]", remove)
	}
}

func TestParseLabelArgsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"zone"}, "KEY=VALUE to set"},
		{[]string{"zone=a", "zone-"}, "zone given twice"},
		{[]string{"zone=a", "zone=b"}, "zone given twice"},
		{[]string{"-"}, `label key ""`},
		{[]string{"=a"}, `label key ""`},
		{[]string{"-zone=a"}, `label key "-zone"`},
		{[]string{"zone=a b"}, `value "a b"`},
		{[]string{"zone=" + strings.Repeat("v", 64)}, "up to 63"},
	}
	for _, tt := range tests {
		_, _, err := parseLabelArgs(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseLabelArgs(%q) = %v, want an error with %q", tt.args, err, tt.want)
		}
	}
}

func TestParseLabels(t *testing.T) {
	got, err := parseLabels([]string{"zone=a", "ssd="})
	if err != nil || !reflect.DeepEqual(got, map[string]string{"zone": "a", "ssd": ""}) {
		t.Errorf("parseLabels = %v, %v", got, err)
	}
	for _, bad := range [][]string{{"zone"}, {"zone=a", "zone=b"}, {"zone-"}} {
		if _, err := parseLabels(bad); err == nil {
			t.Errorf("parseLabels(%q): want an error", bad)
		}
	}
}
