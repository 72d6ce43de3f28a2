package cli

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
)

func (a *app) clusterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Manage clusters of hosts",
	}
	cmd.AddCommand(a.clusterCreateCmd(), a.clusterListCmd(), a.clusterShowCmd(), a.clusterUpdateCmd(), a.clusterDeleteCmd())
	return cmd
}

// capacity shows an amount of host resources on one line.
func capacity(c api.Capacity) string {
	return fmt.Sprintf("cpu %s, memory %d MiB, disk %d MiB, network %d Mbps", num(c.CPU), c.MemoryMib, c.DiskMib, c.NetworkMbps)
}

// clusterCols are the fields of `cluster show`.
var clusterCols = []column[*api.Cluster]{
	col("NAME", func(c *api.Cluster) string { return c.Name }),
	col("ID", func(c *api.Cluster) string { return c.ID }),
	col("OWNER TENANT", func(c *api.Cluster) string { return ownerTenant(c.OwnerTenant) }),
	col("DESCRIPTION", func(c *api.Cluster) string { return dash(c.Description) }),
	col("STRATEGY", func(c *api.Cluster) string { return string(c.Strategy) }),
	col("CPU OVERCOMMIT", func(c *api.Cluster) string { return num(c.CPUOvercommit) }),
	col("MEMORY OVERCOMMIT", func(c *api.Cluster) string { return num(c.MemoryOvercommit) }),
	col("REGISTRY", func(c *api.Cluster) string { return dash(c.Registry) }),
	col("HEARTBEAT TIMEOUT", func(c *api.Cluster) string { return strconv.Itoa(c.HeartbeatTimeoutSeconds) + "s" }),
	col("MAX STARTING PER HOST", func(c *api.Cluster) string { return strconv.Itoa(c.MaxStartingPerHost) }),
	col("HOSTS", func(c *api.Cluster) string { return strconv.Itoa(c.HostCount) }),
	col("CAPACITY", func(c *api.Cluster) string { return capacity(c.Capacity) }),
	col("ALLOCATABLE", func(c *api.Cluster) string { return capacity(c.Allocatable) }),
	col("USAGE", func(c *api.Cluster) string { return capacity(c.Usage) }),
	col("CREATED", func(c *api.Cluster) string { return when(c.CreatedAt) }),
	col("UPDATED", func(c *api.Cluster) string { return when(c.UpdatedAt) }),
}

// ownerTenant shows a cluster's owner; none means the platform's.
func ownerTenant(t *string) string {
	if t == nil || *t == "" {
		return "(platform)"
	}
	return *t
}

// clusterSettings are the flags create and update share.
type clusterSettings struct {
	description, strategy, registry string
	cpuOvercommit, memOvercommit    float64
	heartbeatTimeout                time.Duration
	maxStarting                     int
}

func (s *clusterSettings) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&s.description, "description", "", "what the cluster is for")
	fl.Float64Var(&s.cpuOvercommit, "cpu-overcommit", 0, "offer the hosts' CPU times this, 1 to 10 (new clusters: 1)")
	fl.Float64Var(&s.memOvercommit, "memory-overcommit", 0, "offer the hosts' memory times this, 1 to 10 (new clusters: 1)")
	fl.StringVar(&s.strategy, "strategy", "", "placement: spread (even out hosts; new clusters) or binpack (fill hosts in turn)")
	fl.StringVar(&s.registry, "registry", "", "image registry address host[:port][/path]")
	fl.DurationVar(&s.heartbeatTimeout, "heartbeat-timeout", 0, "silence after which a host is down and its instances move, 3s to 1h (new clusters: 15s)")
	fl.IntVar(&s.maxStarting, "max-starting", 0, "instances a host starts at once, 1 to 1000; the rest wait in order (new clusters: 4)")
	completeWith(cmd, "strategy", api.StrategySpread, api.StrategyBinpack)
}

// check validates the flags given.
func (s *clusterSettings) check(cmd *cobra.Command) error {
	overcommits := []struct {
		flag  string
		value float64
	}{{"cpu-overcommit", s.cpuOvercommit}, {"memory-overcommit", s.memOvercommit}}
	for _, o := range overcommits {
		if cmd.Flags().Changed(o.flag) && !(o.value >= 1 && o.value <= 10) {
			return fmt.Errorf("--%s %s: want 1 to 10", o.flag, num(o.value))
		}
	}
	if t := s.heartbeatTimeout; cmd.Flags().Changed("heartbeat-timeout") && (t < 3*time.Second || t > time.Hour || t%time.Second != 0) {
		return fmt.Errorf("--heartbeat-timeout %s: want whole seconds from 3s to 1h", t)
	}
	if n := s.maxStarting; cmd.Flags().Changed("max-starting") && (n < 1 || n > 1000) {
		return fmt.Errorf("--max-starting %d: want 1 to 1000", n)
	}
	if cmd.Flags().Changed("strategy") {
		return oneOf("strategy", s.strategy, api.StrategySpread, api.StrategyBinpack)
	}
	return nil
}

// heartbeatFlag returns --heartbeat-timeout in seconds when given.
func (s *clusterSettings) heartbeatFlag(cmd *cobra.Command) *int {
	return changed(cmd, "heartbeat-timeout", int(s.heartbeatTimeout/time.Second))
}

// strategyFlag returns --strategy when given.
func (s *clusterSettings) strategyFlag(cmd *cobra.Command) *api.Strategy {
	return changed(cmd, "strategy", api.Strategy(s.strategy))
}

func (a *app) clusterCreateCmd() *cobra.Command {
	var (
		s     clusterSettings
		owner string
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a cluster, for the platform or owned by one tenant",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := s.check(cmd); err != nil {
				return err
			}
			body := api.ClusterCreate{
				Name:                    args[0],
				Description:             nonEmpty(s.description),
				OwnerTenant:             nonEmpty(owner),
				CPUOvercommit:           changed(cmd, "cpu-overcommit", s.cpuOvercommit),
				MemoryOvercommit:        changed(cmd, "memory-overcommit", s.memOvercommit),
				Strategy:                s.strategyFlag(cmd),
				Registry:                nonEmpty(s.registry),
				HeartbeatTimeoutSeconds: s.heartbeatFlag(cmd),
				MaxStartingPerHost:      changed(cmd, "max-starting", s.maxStarting),
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			cl, err := decode[api.Cluster](c.API.CreateCluster(cmd.Context(), body))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, cl, clusterCols)
		},
	}
	s.register(cmd)
	cmd.Flags().StringVar(&owner, "owner-tenant", "", "the tenant owning the cluster (default: the platform)")
	return cmd
}

func (a *app) clusterListCmd() *cobra.Command {
	var (
		p      pager
		prefix string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the platform's clusters and those of your tenants",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			items, next, err := collect(p, func(limit int, token string) ([]api.Cluster, string, error) {
				params := api.ListClustersParams{NamePrefix: nonEmpty(prefix), Limit: &limit, PageToken: nonEmpty(token)}
				page, err := decode[api.ClusterList](c.API.ListClusters(cmd.Context(), &params))
				if err != nil {
					return nil, "", err
				}
				return page.Items, page.NextPageToken, nil
			})
			if err != nil {
				return err
			}
			return printList(a, items, next, []column[api.Cluster]{
				col("NAME", func(c api.Cluster) string { return c.Name }),
				col("OWNER TENANT", func(c api.Cluster) string { return ownerTenant(c.OwnerTenant) }),
				col("HOSTS", func(c api.Cluster) string { return strconv.Itoa(c.HostCount) }),
				col("STRATEGY", func(c api.Cluster) string { return string(c.Strategy) }),
				col("CPU", func(c api.Cluster) string { return ofTotal(c.Usage.CPU, c.Allocatable.CPU) }),
				col("MEMORY MiB", func(c api.Cluster) string { return ofTotal(c.Usage.MemoryMib, c.Allocatable.MemoryMib) }),
				col("DESCRIPTION", func(c api.Cluster) string { return dash(c.Description) }),
			})
		},
	}
	cmd.Flags().StringVar(&prefix, "name-prefix", "", "only clusters whose name starts with this")
	p.register(cmd)
	return cmd
}

func (a *app) clusterShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a cluster with its host count, capacity and usage",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			cl, err := decode[api.Cluster](c.API.GetCluster(cmd.Context(), args[0]))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, cl, clusterCols)
		},
	}
}

func (a *app) clusterUpdateCmd() *cobra.Command {
	var s clusterSettings
	cmd := &cobra.Command{
		Use:   "update NAME",
		Short: "Change a cluster's settings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := s.check(cmd); err != nil {
				return err
			}
			body := api.ClusterUpdate{
				Description:             changed(cmd, "description", s.description),
				CPUOvercommit:           changed(cmd, "cpu-overcommit", s.cpuOvercommit),
				MemoryOvercommit:        changed(cmd, "memory-overcommit", s.memOvercommit),
				Strategy:                s.strategyFlag(cmd),
				Registry:                changed(cmd, "registry", s.registry),
				HeartbeatTimeoutSeconds: s.heartbeatFlag(cmd),
				MaxStartingPerHost:      changed(cmd, "max-starting", s.maxStarting),
			}
			if body == (api.ClusterUpdate{}) {
				return errors.New("nothing to change: pass --description, --cpu-overcommit, --memory-overcommit, --strategy, --registry, --heartbeat-timeout or --max-starting")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			cl, err := decode[api.Cluster](c.API.UpdateCluster(cmd.Context(), args[0], body))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, cl, clusterCols)
		},
	}
	s.register(cmd)
	return cmd
}

func (a *app) clusterDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a cluster (refused while it has hosts or quotas)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := done(c.API.DeleteCluster(cmd.Context(), args[0])); err != nil {
				return err
			}
			return a.report(nil, "Cluster %s deleted.", args[0])
		},
	}
}
