package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// matches is the meaning of a label term, written plainly: the store's SQL
// must agree with it.
func matches(t store.LabelTerm, labels map[string]string) bool {
	v, ok := labels[t.Key]
	switch t.Op {
	case store.LabelEquals:
		return ok && v == t.Value
	case store.LabelNotEquals:
		return !ok || v != t.Value
	case store.LabelExists:
		return ok
	default:
		return !ok
	}
}

// testHostLabelProperty fills a cluster with hosts carrying random labels
// from a small alphabet, then checks random ANDs of label terms against
// the plain meaning above, paging through the results as a client would.
func testHostLabelProperty(t *testing.T, s store.Store) {
	keys, values := []string{"zone", "gpu", "rack", "ssd"}, []string{"a", "b", ""}
	c := mkCluster(t, s, "prop", "")
	rng := rand.New(rand.NewPCG(1, 2))
	hosts := map[string]map[string]string{}
	for i := range 40 {
		labels := map[string]string{}
		for _, k := range keys {
			if rng.IntN(2) == 0 {
				labels[k] = values[rng.IntN(len(values))]
			}
		}
		name := fmt.Sprintf("prop-%02d", i)
		mkHost(t, s, name, c.ID, labels)
		hosts[name] = labels
	}
	rapid.Check(t, func(rt *rapid.T) {
		ops := []string{store.LabelEquals, store.LabelNotEquals, store.LabelExists, store.LabelNotExists}
		terms := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) store.LabelTerm {
			term := store.LabelTerm{Key: rapid.SampledFrom(keys).Draw(rt, "key"), Op: rapid.SampledFrom(ops).Draw(rt, "op")}
			if term.Op == store.LabelEquals || term.Op == store.LabelNotEquals {
				term.Value = rapid.SampledFrom(values).Draw(rt, "value")
			}
			return term
		}), 1, 3).Draw(rt, "terms")
		pageSize := rapid.IntRange(1, 15).Draw(rt, "page")

		var want []string
		for name, labels := range hosts {
			if !slices.ContainsFunc(terms, func(term store.LabelTerm) bool { return !matches(term, labels) }) {
				want = append(want, name)
			}
		}
		slices.Sort(want)
		var got []string
		f := store.HostFilter{ClusterID: c.ID, Labels: terms, Page: store.Page{Limit: pageSize}}
		for {
			var page []store.Host
			var next string
			err := s.Read(context.Background(), func(tx store.Tx) (err error) {
				page, next, err = tx.ListHosts(context.Background(), f)
				return err
			})
			if err != nil {
				rt.Fatal(err)
			}
			for _, h := range page {
				got = append(got, h.Name)
			}
			if next == "" {
				break
			}
			f.Token = next
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			rt.Fatalf("terms %v, pages of %d: got %v, want %v", terms, pageSize, got, want)
		}
	})
}
