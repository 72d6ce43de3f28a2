package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"
)

// Output formats accepted by -o.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatYAML  = "yaml"
)

// column is one column of a table: a header and how to get its cell.
type column[T any] struct {
	header string
	get    func(T) string
}

// col builds a column.
func col[T any](header string, get func(T) string) column[T] {
	return column[T]{header: header, get: get}
}

// checkFormat rejects an unknown -o value with what to use instead.
func checkFormat(format string) error {
	switch format {
	case formatTable, formatJSON, formatYAML:
		return nil
	}
	return fmt.Errorf("unknown output format %q: use -o table, -o json or -o yaml", format)
}

// renderList prints items as a table, or as JSON or YAML.
func renderList[T any](w io.Writer, format string, items []T, cols []column[T]) error {
	if items == nil {
		items = []T{}
	}
	if format != formatTable {
		return renderData(w, format, items)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.header
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, it := range items {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = c.get(it)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// renderOne prints one object as `FIELD: value` lines, or as JSON or YAML.
func renderOne[T any](w io.Writer, format string, item T, cols []column[T]) error {
	if format != formatTable {
		return renderData(w, format, item)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range cols {
		fmt.Fprintf(tw, "%s:\t%s\n", c.header, c.get(item))
	}
	return tw.Flush()
}

// renderData prints v as JSON or YAML, keeping the API's field names.
func renderData(w io.Writer, format string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if format == formatJSON {
		_, err = fmt.Fprintln(w, string(raw))
		return err
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(generic); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	return enc.Close()
}
