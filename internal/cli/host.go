package cli

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

func (a *app) hostCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "host",
		Short: "Manage the hosts that run workloads",
	}
	cmd.AddCommand(a.hostListCmd(), a.hostShowCmd(), a.hostCreateCmd(), a.hostLabelCmd(),
		a.hostStateCmd("cordon", api.HostSettableStateCordoned, "Stop placing new work on a host"),
		a.hostStateCmd("uncordon", api.HostSettableStateReady, "Let a cordoned or draining host take work again"),
		a.hostDrainCmd(), a.hostUpdateCmd(), a.hostDeleteCmd(), a.hostJoinCommandCmd())
	return cmd
}

// Label rules of the API.
var (
	labelKeyPattern   = regexp.MustCompile(`^[a-z0-9A-Z]([-a-zA-Z0-9_./]{0,61}[a-zA-Z0-9])?$`)
	labelValuePattern = regexp.MustCompile(`^[-a-zA-Z0-9_.]{0,63}$`)
)

// checkLabel validates a label key and value.
func checkLabel(key, value string) error {
	if !labelKeyPattern.MatchString(key) {
		return fmt.Errorf("label key %q: want 1-63 letters, digits and -_./, starting and ending with a letter or digit", key)
	}
	if !labelValuePattern.MatchString(value) {
		return fmt.Errorf("label %s value %q: want up to 63 letters, digits and -_.", key, value)
	}
	return nil
}

// parseLabelArgs parses `host label` arguments, kubectl style: KEY=VALUE sets
// a label, KEY- removes one.
func parseLabelArgs(args []string) (set map[string]string, remove []string, err error) {
	set = map[string]string{}
	seen := map[string]bool{}
	for _, arg := range args {
		key, value, isSet := strings.Cut(arg, "=")
		if !isSet {
			var isRemove bool
			if key, isRemove = strings.CutSuffix(arg, "-"); !isRemove {
				return nil, nil, fmt.Errorf("%q: want KEY=VALUE to set a label or KEY- to remove one", arg)
			}
		}
		if err := checkLabel(key, value); err != nil {
			return nil, nil, err
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("label %s given twice", key)
		}
		seen[key] = true
		if isSet {
			set[key] = value
		} else {
			remove = append(remove, key)
		}
	}
	return set, remove, nil
}

// parseLabels parses KEY=VALUE labels of --label.
func parseLabels(pairs []string) (map[string]string, error) {
	labels := map[string]string{}
	for _, pair := range pairs {
		key, value, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("--label %q: want KEY=VALUE", pair)
		}
		if err := checkLabel(key, value); err != nil {
			return nil, err
		}
		if _, dup := labels[key]; dup {
			return nil, fmt.Errorf("--label %s given twice", key)
		}
		labels[key] = value
	}
	return labels, nil
}

// hostStates are the states a host list filters on.
var hostStates = []api.HostState{api.HostStateReady, api.HostStateDown, api.HostStateCordoned, api.HostStateDraining}

// hostCols are the fields of `host show`.
var hostCols = []column[*api.Host]{
	col("NAME", func(h *api.Host) string { return h.Name }),
	col("ID", func(h *api.Host) string { return h.ID }),
	col("CLUSTER", func(h *api.Host) string { return h.Cluster }),
	col("STATE", func(h *api.Host) string { return string(h.State) }),
	col("ADDRESS", func(h *api.Host) string { return dash(h.Address) }),
	col("OS/ARCH", func(h *api.Host) string { return dash(h.OS) + "/" + dash(h.Arch) }),
	col("ZONE", func(h *api.Host) string { return dash(h.Zone) }),
	col("INSTANCES", func(h *api.Host) string { return strconv.Itoa(h.InstanceCount) }),
	col("RESERVED FOR", func(h *api.Host) string { return reservation(h) }),
	col("CAPACITY", func(h *api.Host) string { return capacity(h.Capacity) }),
	col("ALLOCATABLE", func(h *api.Host) string { return capacity(h.Allocatable) }),
	col("USAGE", func(h *api.Host) string { return capacity(h.Usage) }),
	col("LABELS", func(h *api.Host) string { return keyValues(h.Labels) }),
	col("CREATED", func(h *api.Host) string { return when(h.CreatedAt) }),
	col("UPDATED", func(h *api.Host) string { return when(h.UpdatedAt) }),
	col("LAST HEARTBEAT", func(h *api.Host) string { return whenPtr(h.LastHeartbeatAt) }),
	col("DRIVERS", func(h *api.Host) string { return driversText(deref(h.Drivers)) }),
}

func (a *app) hostListCmd() *cobra.Command {
	var (
		p                      pager
		cluster, state, prefix string
		terms                  []string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List hosts, filtered by cluster, state and labels",
		Long: `List hosts, filtered by cluster, state and labels.

Each --label term must hold: KEY=VALUE (equal), KEY!=VALUE (absent or
different), KEY (present), !KEY (absent).`,
		Example: `  nimbus host list --cluster default --state ready
  nimbus host list --label zone=a --label '!gpu'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			params := api.ListHostsParams{Cluster: nonEmpty(cluster), NamePrefix: nonEmpty(prefix)}
			if state != "" {
				if err := oneOf("state", state, hostStates...); err != nil {
					return err
				}
				params.State = ptr(api.HostState(state))
			}
			for _, t := range terms {
				if strings.TrimSpace(t) == "" || t == "!" {
					return fmt.Errorf("--label %q: want KEY=VALUE, KEY!=VALUE, KEY or !KEY", t)
				}
			}
			if len(terms) > 0 {
				params.Label = &terms
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			items, next, err := collect(p, func(limit int, token string) ([]api.Host, string, error) {
				params.Limit, params.PageToken = &limit, nonEmpty(token)
				page, err := decode[api.HostList](c.API.ListHosts(cmd.Context(), &params))
				if err != nil {
					return nil, "", err
				}
				return page.Items, page.NextPageToken, nil
			})
			if err != nil {
				return err
			}
			return printList(a, items, next, []column[api.Host]{
				col("NAME", func(h api.Host) string { return h.Name }),
				col("CLUSTER", func(h api.Host) string { return h.Cluster }),
				col("STATE", func(h api.Host) string { return string(h.State) }),
				col("CPU", func(h api.Host) string { return ofTotal(h.Usage.CPU, h.Allocatable.CPU) }),
				col("MEMORY MiB", func(h api.Host) string { return ofTotal(h.Usage.MemoryMib, h.Allocatable.MemoryMib) }),
				col("DISK MiB", func(h api.Host) string { return ofTotal(h.Usage.DiskMib, h.Allocatable.DiskMib) }),
				col("ADDRESS", func(h api.Host) string { return dash(h.Address) }),
				col("LABELS", func(h api.Host) string { return keyValues(h.Labels) }),
			})
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "only hosts of this cluster")
	cmd.Flags().StringVar(&state, "state", "", "only hosts in this state: ready, down, cordoned or draining")
	cmd.Flags().StringArrayVar(&terms, "label", nil, "only hosts matching this label term (repeat to AND terms)")
	cmd.Flags().StringVar(&prefix, "name-prefix", "", "only hosts whose name starts with this")
	completeWith(cmd, "state", hostStates...)
	p.register(cmd)
	return cmd
}

func (a *app) hostShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a host: capacity, usage, allocatable resources and labels",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			h, err := decode[api.Host](c.API.GetHost(cmd.Context(), args[0]))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, h, hostCols)
		},
	}
}

func (a *app) hostCreateCmd() *cobra.Command {
	var (
		body                  api.HostCreate
		address, osName, arch string
		zone                  string
		labels                []string
	)
	cmd := &cobra.Command{
		Use:     "create NAME --cluster C --cpu N --memory-mib N --disk-mib N --network-mbps N",
		Short:   "Register a host in a cluster",
		Example: `  nimbus host create node-01 --cluster default --cpu 16 --memory-mib 65536 --disk-mib 512000 --network-mbps 10000 --label zone=a`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body.Name = args[0]
			body.Address, body.OS, body.Arch, body.Zone = nonEmpty(address), nonEmpty(osName), nonEmpty(arch), nonEmpty(zone)
			if c := body.Capacity; c.CPU < 0 || c.MemoryMib < 0 || c.DiskMib < 0 || c.NetworkMbps < 0 {
				return fmt.Errorf("capacity %s: no amount may be negative", capacity(c))
			}
			if len(labels) > 0 {
				set, err := parseLabels(labels)
				if err != nil {
					return err
				}
				body.Labels = ptr(api.Labels(set))
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			h, err := decode[api.Host](c.API.CreateHost(cmd.Context(), body))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, h, hostCols)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&body.Cluster, "cluster", "", "the cluster the host joins")
	fl.Float64Var(&body.Capacity.CPU, "cpu", 0, "CPU cores")
	fl.Int64Var(&body.Capacity.MemoryMib, "memory-mib", 0, "memory in MiB")
	fl.Int64Var(&body.Capacity.DiskMib, "disk-mib", 0, "disk in MiB")
	fl.Int64Var(&body.Capacity.NetworkMbps, "network-mbps", 0, "network bandwidth in Mbit/s")
	fl.StringVar(&address, "address", "", "IP address or DNS name, optionally with :port")
	fl.StringArrayVar(&labels, "label", nil, "a label KEY=VALUE (repeat for more)")
	fl.StringVar(&osName, "os", "", "operating system, e.g. linux")
	fl.StringVar(&arch, "arch", "", "CPU architecture, e.g. amd64")
	fl.StringVar(&zone, "zone", "", "availability zone")
	for _, f := range []string{"cluster", "cpu", "memory-mib", "disk-mib", "network-mbps"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func (a *app) hostLabelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "label NAME KEY=VALUE... KEY-...",
		Short: "Set (KEY=VALUE) and remove (KEY-) labels of a host",
		Example: `  nimbus host label node-01 zone=a rack=r1
  nimbus host label node-01 gpu-`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, remove, err := parseLabelArgs(args[1:])
			if err != nil {
				return err
			}
			var body api.HostLabelsUpdate
			if len(set) > 0 {
				body.Set = ptr(api.Labels(set))
			}
			if len(remove) > 0 {
				body.Remove = &remove
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			h, err := decode[api.Host](c.API.UpdateHostLabels(cmd.Context(), args[0], body))
			if err != nil {
				return err
			}
			return a.report(h, "Labels of host %s: %s", h.Name, keyValues(h.Labels))
		},
	}
}

// hostStateCmd is a verb that sets a host's state.
func (a *app) hostStateCmd(verb string, state api.HostSettableState, short string) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			h, err := decode[api.Host](c.API.UpdateHost(cmd.Context(), args[0], api.HostUpdate{State: &state}))
			if err != nil {
				return err
			}
			return a.report(h, "Host %s is %s.", h.Name, h.State)
		},
	}
}

// reservation shows whom a host is reserved for.
func reservation(h *api.Host) string {
	var parts []string
	if len(h.IsolatedTenants) > 0 {
		parts = append(parts, "tenants "+strings.Join(h.IsolatedTenants, ","))
	}
	if len(h.IsolatedImages) > 0 {
		parts = append(parts, "images "+strings.Join(h.IsolatedImages, ","))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}

func (a *app) hostDrainCmd() *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "drain NAME [--wait]",
		Short: "Move a host's instances elsewhere one by one, then leave it cordoned",
		Long: `Drain a host: place nothing new there and move its instances, highest priority
first and one at a time (the next moves once the last runs on its new host), to
hosts that fit them and their groups. An instance no other host fits stays where
it runs, and its events say why. Once empty the host is cordoned; uncordon it to
use it again. With --wait, show the progress until the host is empty.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			state := api.HostSettableStateDraining
			h, err := decode[api.Host](c.API.UpdateHost(cmd.Context(), args[0], api.HostUpdate{State: &state}))
			if err != nil {
				return err
			}
			if wait {
				if h, err = a.waitDrained(cmd.Context(), c, h); err != nil {
					return err
				}
			}
			return a.report(h, "Host %s is %s with %d instance(s) on it.", h.Name, h.State, h.InstanceCount)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the host is empty, showing the progress")
	return cmd
}

// waitDrained polls a draining host until it is empty, with a progress bar
// of the instances moved.
func (a *app) waitDrained(ctx context.Context, c *client.Client, h *api.Host) (*api.Host, error) {
	total := h.InstanceCount
	bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(a.errOut),
		progressbar.OptionSetVisibility(a.format == formatTable && isTerminal(a.errOut)),
		progressbar.OptionSetDescription("draining "+h.Name), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	defer bar.Finish()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		if h.State != api.HostStateDraining {
			if h.InstanceCount > 0 {
				return nil, fmt.Errorf("host %s is %s with %d instance(s) left: the drain was stopped", h.Name, h.State, h.InstanceCount)
			}
			return h, nil
		}
		_ = bar.Set(max(0, total-h.InstanceCount))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		var err error
		if h, err = decode[api.Host](c.API.GetHost(ctx, h.Name)); err != nil {
			return nil, err
		}
	}
}

func (a *app) hostUpdateCmd() *cobra.Command {
	var (
		zone            string
		tenants, images []string
		unreserve       bool
	)
	cmd := &cobra.Command{
		Use:   "update NAME [--zone Z] [--reserve-tenant T]... [--reserve-image I]... [--unreserve]",
		Short: "Set a host's availability zone, or reserve it for some tenants or images",
		Example: `  nimbus host update node-07 --zone b
  nimbus host update node-07 --reserve-tenant RD_Dept
  nimbus host update node-07 --unreserve`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := api.HostUpdate{Zone: changed(cmd, "zone", zone)}
			if len(tenants) > 0 || unreserve {
				body.IsolatedTenants = ptr(tenants)
			}
			if len(images) > 0 || unreserve {
				body.IsolatedImages = ptr(images)
			}
			if body == (api.HostUpdate{}) {
				return fmt.Errorf("nothing to change: pass --zone, --reserve-tenant, --reserve-image or --unreserve")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			h, err := decode[api.Host](c.API.UpdateHost(cmd.Context(), args[0], body))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, h, hostCols)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&zone, "zone", "", "availability zone (empty for none)")
	fl.StringArrayVar(&tenants, "reserve-tenant", nil, "place only this tenant's instances here (repeat)")
	fl.StringArrayVar(&images, "reserve-image", nil, "place only instances of this image here (repeat)")
	fl.BoolVar(&unreserve, "unreserve", false, "lift the reservations not given again")
	return cmd
}

func (a *app) hostDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Remove a host",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := done(c.API.DeleteHost(cmd.Context(), args[0])); err != nil {
				return err
			}
			return a.report(nil, "Host %s deleted.", args[0])
		},
	}
}

func (a *app) hostJoinCommandCmd() *cobra.Command {
	var (
		cluster string
		ttl     time.Duration
		labels  []string
	)
	cmd := &cobra.Command{
		Use:   "join-command --cluster CLUSTER [--ttl 1h] [--label KEY=VALUE]",
		Short: "Print a one-time command that joins a machine to a cluster as a host",
		Long: `Print a one-time command that joins a machine to a cluster as a host.

The command carries a single-use token that expires after --ttl. Run it on
the machine: its agent registers the host, trades the token for a credential
that acts for that host only, and starts running the host's instances.`,
		Example: `  nimbus host join-command --cluster default --label zone=a`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := parseLabels(labels)
			if err != nil {
				return err
			}
			secs := int(ttl / time.Second)
			c, err := a.client()
			if err != nil {
				return err
			}
			jt, err := decode[api.JoinToken](c.API.CreateJoinToken(cmd.Context(), cluster,
				api.JoinTokenCreate{TTLSeconds: &secs, Labels: (*api.Labels)(&l)}))
			if err != nil {
				return err
			}
			if a.format != formatTable {
				return renderData(a.out, a.format, jt)
			}
			fmt.Fprintf(a.errOut, "Run this on the machine to join cluster %s (usable once, until %s):\n",
				jt.Cluster, jt.ExpiresAt.Local().Format(time.DateTime))
			fmt.Fprintln(a.out, jt.Command)
			return nil
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "default", "cluster the host joins")
	cmd.Flags().DurationVar(&ttl, "ttl", time.Hour, "how long the token can be used (1m to 168h)")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "label the host gets, KEY=VALUE (repeat)")
	return cmd
}

// driversText lists drivers as "name (version): detail", unavailable ones
// marked so.
func driversText(reports []api.DriverReport) string {
	var parts []string
	for _, r := range reports {
		s := r.Name
		if !r.Available {
			s += " (unavailable)"
		} else if v := deref(r.Version); v != "" {
			s += " " + v
		}
		if d := deref(r.Detail); d != "" {
			s += ": " + d
		}
		parts = append(parts, s)
	}
	return dash(strings.Join(parts, "; "))
}
