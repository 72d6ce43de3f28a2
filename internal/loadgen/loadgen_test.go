package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsAndErrors(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer x" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if n.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Options{URLs: []string{srv.URL}, Header: http.Header{"Authorization": {"Bearer x"}},
		Concurrency: 4, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors == 0 || res.Errors == res.Requests {
		t.Fatalf("want some successes and some errors: %+v", res)
	}
	if !(res.P50 <= res.P99 && res.P99 <= res.Max) {
		t.Fatalf("percentiles out of order: %+v", res)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	if _, err := Run(context.Background(), Options{}); err == nil {
		t.Fatal("want an error for empty options")
	}
}
