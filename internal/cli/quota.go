package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

func (a *app) quotaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quota",
		Short: "Manage what tenants may use on clusters, per priority tier",
	}
	cmd.AddCommand(a.quotaSetCmd(), a.quotaShowCmd(), a.quotaListCmd(), a.quotaDeleteCmd())
	return cmd
}

// tierKeys are the keys of a --tier, in the order help shows them.
var tierKeys = []string{"priority", "cpu", "memory", "storage", "network"}

// Bounds of a tier, as in the API.
const (
	maxTiers    = 16
	maxPriority = 1000
)

// parseTier parses a --tier like "priority=0,cpu=16,memory=65536". Keys left
// out take the server's defaults. memory and storage are MiB, network Mbit/s.
func parseTier(s string) (api.QuotaTierSpec, error) {
	var t api.QuotaTierSpec
	if strings.TrimSpace(s) == "" {
		return t, fmt.Errorf("--tier is empty: give KEY=VALUE pairs of %s", orList(tierKeys))
	}
	seen := map[string]bool{}
	for _, pair := range strings.Split(s, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok {
			return t, fmt.Errorf("--tier %q: %q is not KEY=VALUE", s, pair)
		}
		if seen[key] {
			return t, fmt.Errorf("--tier %q: %s given twice", s, key)
		}
		seen[key] = true
		var err error
		switch key {
		case "priority":
			var p int
			p, err = strconv.Atoi(value)
			if err != nil || p < 0 || p > maxPriority {
				err = fmt.Errorf("want a whole number from 0 to %d", maxPriority)
			}
			t.Priority = &p
		case "cpu":
			var cpu float64
			cpu, err = strconv.ParseFloat(value, 64)
			if err != nil || !(cpu > 0) || cpu > 1e9 {
				err = errors.New("want a number of cores above 0")
			}
			t.CPU = &cpu
		case "memory", "memory_mib":
			t.MemoryMib, err = positiveInt(value, "MiB")
		case "storage", "storage_mib":
			t.StorageMib, err = positiveInt(value, "MiB")
		case "network", "network_mbps":
			t.NetworkMbps, err = positiveInt(value, "Mbit/s")
		default:
			return t, fmt.Errorf("--tier %q: unknown key %q (want %s)", s, key, orList(tierKeys))
		}
		if err != nil {
			return t, fmt.Errorf("--tier %q: %s=%q: %w", s, key, value, err)
		}
	}
	return t, nil
}

// positiveInt parses a whole number of unit above 0.
func positiveInt(s, unit string) (*int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("want a whole number of %s above 0", unit)
	}
	return &n, nil
}

// parseTiers parses every --tier and checks that their priorities differ.
func parseTiers(specs []string) ([]api.QuotaTierSpec, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("give at least one --tier, e.g. --tier priority=0,cpu=16,memory=65536,storage=102400,network=10240")
	}
	if len(specs) > maxTiers {
		return nil, fmt.Errorf("%d tiers: at most %d", len(specs), maxTiers)
	}
	tiers := make([]api.QuotaTierSpec, len(specs))
	byPriority := map[int]string{}
	for i, s := range specs {
		t, err := parseTier(s)
		if err != nil {
			return nil, err
		}
		p := 0
		if t.Priority != nil {
			p = *t.Priority
		}
		if prev, dup := byPriority[p]; dup {
			return nil, fmt.Errorf("--tier %q and --tier %q both have priority %d: give each tier its own priority=N", prev, s, p)
		}
		byPriority[p] = s
		tiers[i] = t
	}
	return tiers, nil
}

// quotaTarget holds how a quota command names its tenant: TENANT, or --user
// for that user's personal tenant.
type quotaTarget struct {
	user string
}

func (q *quotaTarget) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&q.user, "user", "", "use this user's personal tenant instead of TENANT")
}

// tenant returns the tenant args or --user name.
func (q *quotaTarget) tenant(ctx context.Context, c *client.Client, args []string) (string, error) {
	switch {
	case q.user != "" && len(args) > 0:
		return "", fmt.Errorf("give a TENANT or --user, not both (got %q and --user %s)", args[0], q.user)
	case q.user == "" && len(args) == 0:
		return "", errors.New("give a TENANT, or --user NAME for that user's personal tenant")
	case q.user == "":
		return args[0], nil
	}
	u, err := decode[api.User](c.API.GetUser(ctx, q.user))
	if err != nil {
		return "", fmt.Errorf("user %s: %w", q.user, err)
	}
	return u.PersonalTenant, nil
}

// tierCols are the columns of a quota's tiers.
var tierCols = []column[api.QuotaTier]{
	col("PRIORITY", func(t api.QuotaTier) string { return strconv.Itoa(t.Priority) }),
	col("CPU", func(t api.QuotaTier) string { return ofTotal(t.Used.CPU, t.Limits.CPU) }),
	col("MEMORY MiB", func(t api.QuotaTier) string { return ofTotal(t.Used.MemoryMib, t.Limits.MemoryMib) }),
	col("STORAGE MiB", func(t api.QuotaTier) string { return ofTotal(t.Used.StorageMib, t.Limits.StorageMib) }),
	col("NETWORK Mbps", func(t api.QuotaTier) string { return ofTotal(t.Used.NetworkMbps, t.Limits.NetworkMbps) }),
}

// printQuota shows one quota: a heading and its tiers as used/limit.
func (a *app) printQuota(q *api.Quota) error {
	if a.format != formatTable {
		return renderData(a.out, a.format, q)
	}
	fmt.Fprintf(a.out, "Quota of %s on cluster %s (used/limit per tier, updated %s)\n\n", q.Tenant, q.Cluster, when(q.UpdatedAt))
	return renderList(a.out, a.format, q.Tiers, tierCols)
}

func (a *app) quotaSetCmd() *cobra.Command {
	var (
		target  quotaTarget
		cluster string
		specs   []string
	)
	cmd := &cobra.Command{
		Use:   "set (TENANT | --user NAME) --cluster C --tier KEY=VALUE,... [--tier ...]",
		Short: "Create or replace a tenant's quota on a cluster",
		Long: `Create or replace a tenant's quota on a cluster: the complete set of 1 to 16
priority tiers (tiers left out are deleted, refused while they hold usage).

A --tier is comma-separated KEY=VALUE pairs: priority (0 lowest, unique), cpu
(cores), memory and storage (MiB), network (Mbit/s). Keys left out take the
server's defaults (priority 0, cpu 24, memory 102400, storage 102400,
network 10240).`,
		Example: `  nimbus quota set RD_Dept --cluster default \
      --tier priority=0,cpu=16,memory=65536,storage=102400,network=10240 \
      --tier priority=1,cpu=8,memory=32768,storage=51200,network=1024
  nimbus quota set --user alice --cluster default --tier cpu=4,memory=8192`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tiers, err := parseTiers(specs)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			tenant, err := target.tenant(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			q, err := decode[api.Quota](c.API.PutQuota(cmd.Context(), tenant, cluster, api.QuotaPut{Tiers: tiers}))
			if err != nil {
				return err
			}
			return a.printQuota(q)
		},
	}
	target.register(cmd)
	cmd.Flags().StringVar(&cluster, "cluster", "", "the cluster the quota is for")
	cmd.Flags().StringArrayVar(&specs, "tier", nil, "a tier: KEY=VALUE pairs of "+strings.Join(tierKeys, ", ")+" (repeat for more tiers)")
	_ = cmd.MarkFlagRequired("cluster")
	_ = cmd.MarkFlagRequired("tier")
	return cmd
}

func (a *app) quotaShowCmd() *cobra.Command {
	var (
		target  quotaTarget
		cluster string
	)
	cmd := &cobra.Command{
		Use:   "show (TENANT | --user NAME) --cluster C",
		Short: "Show a tenant's quota on a cluster: limits and usage per tier",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			tenant, err := target.tenant(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			q, err := decode[api.Quota](c.API.GetQuota(cmd.Context(), tenant, cluster))
			if err != nil {
				return err
			}
			return a.printQuota(q)
		},
	}
	target.register(cmd)
	cmd.Flags().StringVar(&cluster, "cluster", "", "the cluster of the quota")
	_ = cmd.MarkFlagRequired("cluster")
	return cmd
}

// quotaRow is one tier of one quota, a row of `quota list`.
type quotaRow struct {
	quota *api.Quota
	tier  api.QuotaTier
}

// quotaRows flattens quotas to one row per tier.
func quotaRows(quotas []api.Quota) []quotaRow {
	var rows []quotaRow
	for i := range quotas {
		for _, t := range quotas[i].Tiers {
			rows = append(rows, quotaRow{quota: &quotas[i], tier: t})
		}
	}
	return rows
}

// quotaRowCols are the columns of `quota list`: the tier columns after the
// tenant and cluster.
var quotaRowCols = append([]column[quotaRow]{
	col("TENANT", func(r quotaRow) string { return r.quota.Tenant }),
	col("CLUSTER", func(r quotaRow) string { return r.quota.Cluster }),
}, tierRowCols()...)

// tierRowCols shows tierCols for rows of `quota list`.
func tierRowCols() []column[quotaRow] {
	cols := make([]column[quotaRow], len(tierCols))
	for i, c := range tierCols {
		cols[i] = col(c.header, func(r quotaRow) string { return c.get(r.tier) })
	}
	return cols
}

func (a *app) quotaListCmd() *cobra.Command {
	var (
		p       pager
		target  quotaTarget
		cluster string
	)
	cmd := &cobra.Command{
		Use:   "list [TENANT | --user NAME]",
		Short: "List a tenant's quotas, or every quota (platform admin)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			tenant := ""
			if len(args) > 0 || target.user != "" {
				if tenant, err = target.tenant(cmd.Context(), c, args); err != nil {
					return err
				}
			}
			items, next, err := collect(p, func(limit int, token string) ([]api.Quota, string, error) {
				if tenant == "" {
					params := api.ListQuotasParams{Cluster: nonEmpty(cluster), Limit: &limit, PageToken: nonEmpty(token)}
					page, err := decode[api.QuotaList](c.API.ListQuotas(cmd.Context(), &params))
					if err != nil {
						return nil, "", err
					}
					return page.Items, page.NextPageToken, nil
				}
				params := api.ListTenantQuotasParams{Limit: &limit, PageToken: nonEmpty(token)}
				page, err := decode[api.QuotaList](c.API.ListTenantQuotas(cmd.Context(), tenant, &params))
				if err != nil {
					return nil, "", err
				}
				return onCluster(page.Items, cluster), page.NextPageToken, nil
			})
			if err != nil {
				return err
			}
			if a.format != formatTable {
				return printList(a, items, next, nil)
			}
			return printList(a, quotaRows(items), next, quotaRowCols)
		},
	}
	target.register(cmd)
	cmd.Flags().StringVar(&cluster, "cluster", "", "only quotas on this cluster")
	p.register(cmd)
	return cmd
}

// onCluster keeps the quotas on cluster, or all when cluster is "".
func onCluster(quotas []api.Quota, cluster string) []api.Quota {
	if cluster == "" {
		return quotas
	}
	var out []api.Quota
	for _, q := range quotas {
		if q.Cluster == cluster {
			out = append(out, q)
		}
	}
	return out
}

func (a *app) quotaDeleteCmd() *cobra.Command {
	var (
		target  quotaTarget
		cluster string
	)
	cmd := &cobra.Command{
		Use:   "delete (TENANT | --user NAME) --cluster C",
		Short: "Delete a tenant's quota on a cluster (refused while it holds usage)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			tenant, err := target.tenant(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			if err := done(c.API.DeleteQuota(cmd.Context(), tenant, cluster)); err != nil {
				return err
			}
			return a.report(nil, "Quota of %s on cluster %s deleted.", tenant, cluster)
		},
	}
	target.register(cmd)
	cmd.Flags().StringVar(&cluster, "cluster", "", "the cluster of the quota")
	_ = cmd.MarkFlagRequired("cluster")
	return cmd
}
