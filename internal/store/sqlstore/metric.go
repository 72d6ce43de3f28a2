package sqlstore

import (
	"context"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

func (t *tx) AddSamples(ctx context.Context, samples []store.MetricSample) error {
	rows := make([][]any, len(samples))
	for n, s := range samples {
		rows[n] = []any{s.ObjectID, s.Resolution, s.At.UnixMicro(), s.CPU, s.MemoryBytes}
	}
	return wrap(t.insertRows(ctx, "metric_samples", "object_id, resolution, at, cpu, memory_bytes", rows,
		" ON CONFLICT (object_id, resolution, at) DO UPDATE SET cpu = excluded.cpu, memory_bytes = excluded.memory_bytes"),
		"add samples")
}

func (t *tx) scanSamples(ctx context.Context, what, q string, args ...any) ([]store.MetricSample, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap(err, what)
	}
	list, err := scanAll(rows, func() (store.MetricSample, error) {
		var s store.MetricSample
		var at int64
		err := rows.Scan(&s.ObjectID, &s.Resolution, &at, &s.CPU, &s.MemoryBytes)
		s.At = fromMicros(at)
		return s, err
	})
	return list, wrap(err, what)
}

func (t *tx) ListSamples(ctx context.Context, objectID string, resolution int, since, until time.Time) ([]store.MetricSample, error) {
	return t.scanSamples(ctx, "list samples", `SELECT object_id, resolution, at, cpu, memory_bytes FROM metric_samples
		WHERE object_id = ? AND resolution = ? AND at >= ? AND at < ? ORDER BY at`,
		objectID, resolution, since.UnixMicro(), until.UnixMicro())
}

func (t *tx) LatestSamples(ctx context.Context, since time.Time) ([]store.MetricSample, error) {
	return t.scanSamples(ctx, "latest samples", `SELECT m.object_id, m.resolution, m.at, m.cpu, m.memory_bytes
		FROM metric_samples m JOIN (SELECT object_id, MAX(at) AS at FROM metric_samples WHERE resolution = ? AND at >= ?
		GROUP BY object_id) l ON l.object_id = m.object_id AND l.at = m.at WHERE m.resolution = ?`,
		store.ResolutionRaw, since.UnixMicro(), store.ResolutionRaw)
}

func (t *tx) RollupSamples(ctx context.Context, from, to time.Time) error {
	const bucket = int64(store.ResolutionRollup) * 1e6
	// The outer WHERE true keeps SQLite from reading ON CONFLICT as a join.
	_, err := t.exec(ctx, `INSERT INTO metric_samples (object_id, resolution, at, cpu, memory_bytes)
		SELECT object_id, ?, bucket, AVG(cpu), CAST(AVG(memory_bytes) AS BIGINT) FROM (
			SELECT object_id, (at / ?) * ? AS bucket, cpu, memory_bytes FROM metric_samples
			WHERE resolution = ? AND at >= ? AND at < ?) raw
		WHERE true GROUP BY object_id, bucket
		ON CONFLICT (object_id, resolution, at) DO UPDATE SET cpu = excluded.cpu, memory_bytes = excluded.memory_bytes`,
		store.ResolutionRollup, bucket, bucket, store.ResolutionRaw, from.UnixMicro(), to.UnixMicro())
	return wrap(err, "roll up samples")
}

func (t *tx) PruneSamples(ctx context.Context, resolution int, before time.Time) (int64, error) {
	n, err := t.execN(ctx, "DELETE FROM metric_samples WHERE resolution = ? AND at < ?", resolution, before.UnixMicro())
	return n, wrap(err, "prune samples")
}
