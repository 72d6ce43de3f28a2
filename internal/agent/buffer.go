package agent

// buffer keeps the newest entries up to a limit, until the server has
// acknowledged them. Entries are numbered in order of arrival so that an
// acknowledgement drops exactly what was sent, whatever arrived or was
// dropped since.
type buffer[T any] struct {
	items   []T
	limit   int
	first   uint64 // number of items[0]
	dropped int    // dropped for want of room since the last acknowledgement
}

// add appends v, dropping the oldest entries beyond the limit.
func (b *buffer[T]) add(v T) {
	b.items = append(b.items, v)
	if extra := len(b.items) - b.limit; extra > 0 {
		clear(b.items[:extra])
		b.items = b.items[extra:]
		b.first += uint64(extra)
		b.dropped += extra
	}
}

// pending returns a copy of the entries and the number of the first; once
// the first n are delivered, give first+n to ack.
func (b *buffer[T]) pending() ([]T, uint64) {
	return append([]T(nil), b.items...), b.first
}

// ack drops the entries numbered below end and returns how many were
// dropped for want of room since the previous ack.
func (b *buffer[T]) ack(end uint64) int {
	if end > b.first {
		n := min(int(end-b.first), len(b.items))
		clear(b.items[:n])
		b.items = b.items[n:]
		b.first += uint64(n)
	}
	dropped := b.dropped
	b.dropped = 0
	return dropped
}
