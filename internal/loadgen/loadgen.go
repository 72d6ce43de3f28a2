// Package loadgen drives an HTTP endpoint at a fixed concurrency for a fixed
// time and reports throughput and latency percentiles. It backs
// `nimbus bench api`, so that the load comes from a process of its own.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Options say what to request and how hard.
type Options struct {
	URLs        []string // requested in turn by each worker
	Header      http.Header
	Concurrency int
	Duration    time.Duration
	Warmup      time.Duration
}

// Result summarises a run.
type Result struct {
	Requests int
	Errors   int // transport errors and non-2xx answers
	Elapsed  time.Duration
	P50, P90 time.Duration
	P99, Max time.Duration
}

// RPS is the rate of successful requests per second.
func (r Result) RPS() float64 { return float64(r.Requests-r.Errors) / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%d requests in %s (%d errors): %.0f req/s, p50 %s, p90 %s, p99 %s, max %s",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.Errors, r.RPS(), r.P50, r.P90, r.P99, r.Max)
}

// Run sends requests until the duration ends; requests during the warm-up
// are sent but not counted.
func Run(ctx context.Context, o Options) (Result, error) {
	if len(o.URLs) == 0 || o.Concurrency < 1 || o.Duration <= 0 {
		return Result{}, fmt.Errorf("loadgen: need URLs, concurrency >= 1 and a duration")
	}
	transport := &http.Transport{MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency, DisableCompression: true}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	reqs := make([]*http.Request, len(o.URLs))
	for i, u := range o.URLs {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return Result{}, err
		}
		req.Header = o.Header.Clone()
		reqs[i] = req
	}
	once := func(i int) (time.Duration, bool) {
		start := time.Now()
		res, err := hc.Do(reqs[i%len(reqs)])
		if err != nil {
			return time.Since(start), false
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return time.Since(start), res.StatusCode < 300
	}

	warmEnd := time.Now().Add(o.Warmup)
	end := warmEnd.Add(o.Duration)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      int
		wg        sync.WaitGroup
	)
	for w := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			localErrs := 0
			for i := w; ctx.Err() == nil; i++ {
				now := time.Now()
				if now.After(end) {
					break
				}
				d, ok := once(i)
				if now.Before(warmEnd) {
					continue
				}
				local = append(local, d)
				if !ok {
					localErrs++
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			errs += localErrs
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(latencies) == 0 {
		return Result{}, fmt.Errorf("loadgen: no request completed")
	}
	slices.Sort(latencies)
	q := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	return Result{Requests: len(latencies), Errors: errs, Elapsed: o.Duration,
		P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: latencies[len(latencies)-1]}, nil
}
