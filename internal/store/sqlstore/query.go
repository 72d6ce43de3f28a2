package sqlstore

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// conds collects the ANDed conditions of a WHERE clause and their arguments.
type conds struct {
	terms []string
	args  []any
}

func (c *conds) add(term string, args ...any) {
	c.terms = append(c.terms, term)
	c.args = append(c.args, args...)
}

// prefix adds "col starts with p" when p is set. It compares a substring
// rather than using LIKE, which is case-insensitive on SQLite only.
func (c *conds) prefix(col, p string) {
	if p != "" {
		c.add("substr("+col+", 1, ?) = ?", utf8.RuneCountInString(p), p)
	}
}

// in adds "col IN (vals)"; an empty list matches nothing.
func (c *conds) in(col string, vals []string) {
	if len(vals) == 0 {
		c.add("1 = 0")
		return
	}
	c.add(col+" IN ("+placeholders(len(vals))+")", anySlice(vals)...)
}

func (c *conds) where() string {
	if len(c.terms) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.terms, " AND ")
}

// A cursor is the sort key of the last row of a page, tagged with the list
// it belongs to, as base64url JSON.
type cursor struct {
	List string `json:"l"`
	Key  []any  `json:"k"`
}

func encodeCursor(list string, key ...any) string {
	b, _ := json.Marshal(cursor{List: list, Key: key})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a token of list into dst (pointers to string or
// int64), one per key element. An empty token leaves dst alone and
// returns false.
func decodeCursor(token, list string, dst ...any) (bool, error) {
	if token == "" {
		return false, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return false, store.ErrInvalidPageToken
	}
	var c struct {
		List string            `json:"l"`
		Key  []json.RawMessage `json:"k"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.List != list || len(c.Key) != len(dst) {
		return false, store.ErrInvalidPageToken
	}
	for i, k := range c.Key {
		if err := json.Unmarshal(k, dst[i]); err != nil {
			return false, store.ErrInvalidPageToken
		}
	}
	return true, nil
}

// pageOf trims rows fetched with limit+1 to limit and returns the next page
// token built from the last kept row.
func pageOf[T any](rows []T, limit int, list string, key func(T) []any) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, encodeCursor(list, key(rows[limit-1])...)
}

// afterName adds the keyset condition of a list sorted by col.
func (c *conds) afterName(col string, p store.Page, list string) error {
	var name string
	ok, err := decodeCursor(p.Token, list, &name)
	if err != nil {
		return err
	}
	if ok {
		c.add(col+" > ?", name)
	}
	return nil
}

// scanAll reads every row with scan.
func scanAll[T any](rows *sql.Rows, scan func() (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
