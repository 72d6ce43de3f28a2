// Package nimbus_test holds checks of conventions that span the repository.
package nimbus_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// testHelpers are packages made for tests; they may import "testing".
var testHelpers = []string{"internal/testpg", "internal/store/storetest", "internal/testreq"}

// TestPackageConventions checks that every package has a doc comment and
// that production code never imports "testing".
func TestPackageConventions(t *testing.T) {
	docs := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments|parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		docs[dir] = docs[dir] || f.Doc != nil
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "testing" && !slices.Contains(testHelpers, filepath.ToSlash(dir)) {
				t.Errorf("%s: production code imports \"testing\"", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, ok := range docs {
		if !ok {
			t.Errorf("package %s has no package doc comment", dir)
		}
	}
	if len(docs) < 10 {
		t.Fatalf("found only %d packages: is the walk broken?", len(docs))
	}
}

// TestAgentDoesNotImportServer keeps the host agent and its drivers apart
// from the server: they meet only over the HTTP API (package api and the
// client), so an agent binary never carries server state.
func TestAgentDoesNotImportServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./internal/agent/...", "./internal/driver/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/nimbus-cloud/nimbus/internal/agent") {
		t.Fatalf("go list found no agent package: %v", deps)
	}
	for _, forbidden := range []string{"internal/server", "internal/store"} {
		for _, d := range deps {
			if strings.Contains(d, "/nimbus/"+forbidden) {
				t.Errorf("the agent or a driver depends on %s", d)
			}
		}
	}
}
