package store

// Page limits, applied by every list.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// Page selects one page of a list. Lists are sorted by name (audit: newest
// first) in the database's collation and paginated by keyset: Token is the
// next page token returned with the previous page, empty for the first page.
// A page is never affected by rows inserted or deleted before its cursor.
type Page struct {
	Limit int    // 0 means DefaultPageLimit; capped at MaxPageLimit
	Token string // opaque; ErrInvalidPageToken when malformed
}

// EffectiveLimit returns Limit clamped to 1..MaxPageLimit, DefaultPageLimit when unset.
func (p Page) EffectiveLimit() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageLimit
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}
