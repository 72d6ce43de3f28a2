package cli

import (
	"encoding/json"
	"os"
	"testing"
)

// A small full-path run: every instance is created, placed and reported
// running by the simulated hosts, and nothing is left in the temporary
// directory.
func TestBenchFullPath(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	out, stderr, err := runCLI(t, "", "bench", "fullpath", "--hosts", "2", "--instances", "40", "-c", "4", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var res fullPathResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Created != 40 || res.Errors != 0 || res.RunningS <= 0 || res.RunningS < res.CreateS || res.CreatesPerS <= 0 || res.PeakHeapMiB <= 0 {
		t.Errorf("result: %+v", res)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left behind: %s", e.Name())
	}
}
