package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/client"
)

// clientCmds returns every verb that talks to a Nimbus server.
func (a *app) clientCmds() []*cobra.Command {
	return []*cobra.Command{
		a.loginCmd(), a.logoutCmd(), a.whoamiCmd(), a.sessionCmd(), a.passwordCmd(),
		a.userCmd(), a.groupCmd(), a.tenantCmd(), a.apikeyCmd(), a.quotaCmd(),
		a.clusterCmd(), a.hostCmd(), a.instanceCmd(), a.auditCmd(), a.benchCmd(),
	}
}

// maxAnswer bounds what the CLI reads of one answer.
const maxAnswer = 64 << 20

// decode reads the answer to a call of the generated client: the JSON of a
// T, or the API error the answer carries instead.
func decode[T any](res *http.Response, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("read the server's answer: %w", err)
	}
	if err := client.Err(res, body); err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("unexpected answer from the server (%s): %w", res.Status, err)
	}
	return &v, nil
}

// done reads the answer to a call that returns nothing but its status: nil,
// or the API error the answer carries.
func done(res *http.Response, err error) error {
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("read the server's answer: %w", err)
	}
	return client.Err(res, body)
}

// Paging defaults: one page of defaultLimit items, or pages of maxLimit with --all.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// pager holds the paging flags every list command takes.
type pager struct {
	limit int
	token string
	all   bool
}

func (p *pager) register(cmd *cobra.Command) {
	cmd.Flags().IntVar(&p.limit, "limit", defaultLimit, fmt.Sprintf("at most this many items (1-%d)", maxLimit))
	cmd.Flags().StringVar(&p.token, "page-token", "", "continue a list where a previous one stopped")
	cmd.Flags().BoolVar(&p.all, "all", false, "fetch every page")
	cmd.MarkFlagsMutuallyExclusive("limit", "all")
}

// collect fetches one page of p.limit items from p.token, or with p.all every
// page from there on. It returns the items and the token of the next page
// (empty when there is none).
func collect[T any](p pager, fetch func(limit int, token string) ([]T, string, error)) ([]T, string, error) {
	limit := p.limit
	if p.all {
		limit = maxLimit
	}
	if limit < 1 || limit > maxLimit {
		return nil, "", fmt.Errorf("--limit %d: want 1 to %d (or --all)", limit, maxLimit)
	}
	var out []T
	token := p.token
	for {
		items, next, err := fetch(limit, token)
		if err != nil {
			return nil, "", err
		}
		out = append(out, items...)
		if !p.all || next == "" {
			return out, next, nil
		}
		token = next
	}
}

// printList renders a list, then says on stderr how to get the rest.
func printList[T any](a *app, items []T, next string, cols []column[T]) error {
	if err := renderList(a.out, a.format, items, cols); err != nil {
		return err
	}
	a.moreHint(next)
	return nil
}

// moreHint tells the user how to fetch the page after a list.
func (a *app) moreHint(next string) {
	if next != "" {
		fmt.Fprintf(a.errOut, "more: --page-token %s (or --all for everything)\n", next)
	}
}

// report prints msg for a change in table format, or v as JSON or YAML; msg
// alone when there is no v.
func (a *app) report(v any, msg string, args ...any) error {
	if a.format == formatTable || v == nil {
		_, err := fmt.Fprintln(a.out, fmt.Sprintf(msg, args...))
		return err
	}
	return renderData(a.out, a.format, v)
}

// changed returns &v when the flag was given on the command line, else nil,
// so that absent flags leave fields to the server's defaults.
func changed[T any](cmd *cobra.Command, flag string, v T) *T {
	if cmd.Flags().Changed(flag) {
		return &v
	}
	return nil
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// deref returns *p, or the zero value when p is nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// nonEmpty returns &s, or nil for an empty s.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// oneOf checks that the value of flag is one of valid.
func oneOf[T ~string](flag, value string, valid ...T) error {
	for _, v := range valid {
		if string(v) == value {
			return nil
		}
	}
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	return fmt.Errorf("--%s %q: want %s", flag, value, orList(names))
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// completeWith offers values when completing flag.
func completeWith[T ~string](cmd *cobra.Command, flag string, values ...T) {
	names := make([]string, len(values))
	for i, v := range values {
		names[i] = string(v)
	}
	// The flag is defined by the caller; registering can only fail if not.
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(names, cobra.ShellCompDirectiveNoFileComp))
}

// Cell formatting for tables.

// dash shows an empty cell as "-".
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// dashPtr shows a nil or empty string as "-".
func dashPtr(s *string) string {
	if s == nil {
		return "-"
	}
	return dash(*s)
}

// yesNo shows a flag.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// when shows a time in local time to the second.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

// whenPtr shows an optional time, none as "-".
func whenPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return when(*t)
}

// num shows a number of cores without trailing zeros.
func num(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// ofTotal shows "used/limit".
func ofTotal[T int64 | float64](used, limit T) string {
	return fmt.Sprintf("%s/%s", num(float64(used)), num(float64(limit)))
}

// keyValues shows a map as sorted "k=v" pairs.
func keyValues(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + m[k]
	}
	return strings.Join(pairs, ",")
}
