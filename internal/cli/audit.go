package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
)

func (a *app) auditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit trail: who changed what, and when",
	}
	cmd.AddCommand(a.auditListCmd())
	return cmd
}

// parseWhen parses an RFC 3339 time, or a duration meaning that long before
// now: Go durations like 90m or 1h30m, or whole days like 7d.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok && err != nil {
		n, nerr := strconv.Atoi(days)
		d, err = time.Duration(n)*24*time.Hour, nerr
	}
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time (2026-01-02T15:04:05Z) or how long ago (30m, 1h, 7d)", s)
	}
	return now.Add(-d), nil
}

// auditFlags are the filters of `audit list`.
type auditFlags struct {
	tenant, actor, action, objectType, objectName, result, since, until string
}

// params turns the filters into query parameters, durations counted back from now.
func (f auditFlags) params(now time.Time) (api.ListAuditParams, error) {
	p := api.ListAuditParams{
		Tenant:     nonEmpty(f.tenant),
		Actor:      nonEmpty(f.actor),
		Action:     nonEmpty(f.action),
		ObjectType: nonEmpty(f.objectType),
		ObjectName: nonEmpty(f.objectName),
	}
	if f.result != "" {
		if err := oneOf("result", f.result, api.AuditResultSuccess, api.AuditResultFailure); err != nil {
			return p, err
		}
		p.Result = ptr(api.AuditResult(f.result))
	}
	for _, t := range []struct {
		flag, value string
		dst         **time.Time
	}{{"since", f.since, &p.Since}, {"until", f.until, &p.Until}} {
		if t.value == "" {
			continue
		}
		v, err := parseWhen(t.value, now)
		if err != nil {
			return p, fmt.Errorf("--%s %w", t.flag, err)
		}
		*t.dst = &v
	}
	if p.Since != nil && p.Until != nil && !p.Since.Before(*p.Until) {
		return p, fmt.Errorf("--since %s is not before --until %s", f.since, f.until)
	}
	return p, nil
}

func (a *app) auditListCmd() *cobra.Command {
	var (
		p pager
		f auditFlags
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit records, newest first",
		Long: `List audit records, newest first. A platform admin sees every record, a
tenant admin those of their tenants.

--since and --until take an RFC 3339 time or how long ago (30m, 1h, 7d).`,
		Example: `  nimbus audit list --tenant RD_Dept --since 24h
  nimbus audit list --action user. --result failure -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			params, err := f.params(time.Now())
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			items, next, err := collect(p, func(limit int, token string) ([]api.AuditRecord, string, error) {
				params.Limit, params.PageToken = &limit, nonEmpty(token)
				page, err := decode[api.AuditRecordList](c.API.ListAudit(cmd.Context(), &params))
				if err != nil {
					return nil, "", err
				}
				return page.Items, page.NextPageToken, nil
			})
			if err != nil {
				return err
			}
			return printList(a, items, next, auditCols)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.tenant, "tenant", "", "only records of this tenant")
	fl.StringVar(&f.actor, "actor", "", "only records of this user name or app key")
	fl.StringVar(&f.action, "action", "", "only actions starting with this, e.g. user. or user.create")
	fl.StringVar(&f.objectType, "object-type", "", "only records about objects of this type, e.g. user")
	fl.StringVar(&f.objectName, "object-name", "", "only records about objects of this name")
	fl.StringVar(&f.result, "result", "", "only records with this result: success or failure")
	fl.StringVar(&f.since, "since", "", "only records at or after this time")
	fl.StringVar(&f.until, "until", "", "only records before this time")
	completeWith(cmd, "result", api.AuditResultSuccess, api.AuditResultFailure)
	p.register(cmd)
	return cmd
}

// auditCols are the columns of `audit list`.
var auditCols = []column[api.AuditRecord]{
	col("TIME", func(r api.AuditRecord) string { return when(r.Time) }),
	col("ACTOR", func(r api.AuditRecord) string {
		if r.APIKey != nil && *r.APIKey != "" {
			return dash(r.Actor) + " (" + *r.APIKey + ")"
		}
		return dash(r.Actor)
	}),
	col("TENANT", func(r api.AuditRecord) string { return dashPtr(r.Tenant) }),
	col("ACTION", func(r api.AuditRecord) string { return r.Action }),
	col("OBJECT", func(r api.AuditRecord) string { return r.ObjectType + " " + r.ObjectName }),
	col("RESULT", func(r api.AuditRecord) string {
		if r.ErrorCode != nil && *r.ErrorCode != "" {
			return string(r.Result) + " (" + *r.ErrorCode + ")"
		}
		return string(r.Result)
	}),
	col("SOURCE IP", func(r api.AuditRecord) string { return dash(r.SourceIP) }),
}
