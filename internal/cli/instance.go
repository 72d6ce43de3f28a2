package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/api/stream"
	"github.com/nimbus-cloud/nimbus/client"
)

func (a *app) instanceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "instance",
		Aliases: []string{"instances", "inst"},
		Short:   "Run processes and containers: create, start, stop, logs, exec",
	}
	cmd.AddCommand(a.instanceCreateCmd(), a.instanceListCmd(), a.instanceShowCmd(), a.instanceDeleteCmd(),
		a.instanceActionCmd(api.InstanceActionRequestActionStart, "Start a stopped instance"),
		a.instanceActionCmd(api.InstanceActionRequestActionStop, "Stop an instance (it keeps its host and quota)"),
		a.instanceActionCmd(api.InstanceActionRequestActionRestart, "Restart an instance"),
		a.instanceEventsCmd(), a.instanceExplainCmd(), a.instanceLogsCmd(), a.instanceExecCmd(), a.instanceMetricsCmd())
	return cmd
}

// tenantFlag is the --tenant of instance commands: by default the caller's
// personal tenant.
type tenantFlag struct{ name string }

func (t *tenantFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.name, "tenant", "", "the instance's tenant (default: your personal tenant)")
}

func (t *tenantFlag) get(ctx context.Context, c *client.Client) (string, error) {
	if t.name != "" {
		return t.name, nil
	}
	me, err := decode[api.WhoAmI](c.API.WhoAmI(ctx))
	if err != nil {
		return "", err
	}
	return me.User.PersonalTenant, nil
}

// instanceCols are the fields of `instance show`.
var instanceCols = []column[*api.Instance]{
	col("NAME", func(i *api.Instance) string { return i.Name }),
	col("ID", func(i *api.Instance) string { return i.ID }),
	col("TENANT", func(i *api.Instance) string { return i.Tenant }),
	col("CLUSTER", func(i *api.Instance) string { return i.Cluster }),
	col("STATUS", func(i *api.Instance) string { return statusText(*i) }),
	col("DESIRED", func(i *api.Instance) string { return string(i.Desired) }),
	col("HOST", func(i *api.Instance) string { return dash(i.Host) }),
	col("DRIVER", func(i *api.Instance) string { return string(i.Spec.Driver) }),
	col("IMAGE", func(i *api.Instance) string { return dashPtr(i.Spec.Image) }),
	col("COMMAND", func(i *api.Instance) string { return dash(strings.Join(deref(i.Spec.Command), " ")) }),
	col("CPU", func(i *api.Instance) string { return strconv.FormatFloat(deref(i.Spec.CPU), 'g', -1, 64) }),
	col("MEMORY MiB", func(i *api.Instance) string { return strconv.FormatInt(deref(i.Spec.MemoryMib), 10) }),
	col("PRIORITY", func(i *api.Instance) string { return strconv.Itoa(i.Priority) }),
	col("ZONE", func(i *api.Instance) string { return dashPtr(i.Zone) }),
	col("GROUP", func(i *api.Instance) string {
		if i.Group == nil {
			return "-"
		}
		return *i.Group + " (" + deref(i.GroupPolicy) + ")"
	}),
	col("RESTARTS", func(i *api.Instance) string { return strconv.Itoa(i.Restarts) }),
	col("EXIT CODE", func(i *api.Instance) string { return exitText(i.ExitCode) }),
	col("MESSAGE", func(i *api.Instance) string { return dash(i.Message) }),
	col("LABELS", func(i *api.Instance) string { return keyValues(i.Labels) }),
	col("CREATED", func(i *api.Instance) string { return when(i.CreatedAt) }),
	col("STARTED", func(i *api.Instance) string { return whenPtr(i.StartedAt) }),
}

func statusText(i api.Instance) string {
	if i.OomKilled {
		return string(i.Status) + " (OOM killed)"
	}
	return string(i.Status)
}

func exitText(code *int) string {
	if code == nil {
		return "-"
	}
	return strconv.Itoa(*code)
}

func (a *app) instanceCreateCmd() *cobra.Command {
	var (
		t                                      tenantFlag
		in                                     api.InstanceCreate
		driver, image, cluster, restart, check string
		cpu                                    float64
		memory                                 int64
		priority                               int
		env, ports, volumes, labels, cons      []string
		checkPort, checkRetries, checkInterval int
		checkPath, logPath, workdir            string
		stopped, wait                          bool
		zone, group, groupPolicy, arch         string
	)
	cmd := &cobra.Command{
		Use:   "create NAME [--driver process|docker] [--image IMAGE] [flags] [-- COMMAND [ARG...]]",
		Short: "Create an instance and start it",
		Long: `Create an instance: a process (the command after --) or a container (--image),
charged to its tenant's quota tier of --priority on the cluster, placed on a
ready host that offers the driver and matches every --constraint, and started
there by the host's agent.`,
		Example: `  nimbus instance create web --driver docker --image nginx:1 -p 8080:80 --cpu 0.5 --memory 256 --wait
  nimbus instance create job --restart never -- sh -c 'echo hello; sleep 5'
  nimbus instance create api --health http --health-port 8080 --health-path /healthz -- ./api`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := cmd.ArgsLenAtDash(); n > 1 || (n == -1 && len(args) > 1) {
				return fmt.Errorf("give the command after --, e.g. nimbus instance create %s -- sleep 60", args[0])
			}
			in.Name = args[0]
			spec := &in.Spec
			spec.Driver = api.InstanceDriver(driver)
			if image != "" {
				spec.Image, spec.Driver = &image, api.InstanceDriverDocker
			}
			if cmd.ArgsLenAtDash() == 1 && len(args) > 1 {
				spec.Command = ptr(args[1:])
			}
			spec.CPU, spec.MemoryMib = &cpu, &memory
			spec.Workdir, spec.LogPath = nonEmpty(workdir), nonEmpty(logPath)
			in.Cluster, in.Priority, in.Start = nonEmpty(cluster), &priority, ptr(!stopped)
			in.Zone, in.Group, spec.Arch = nonEmpty(zone), nonEmpty(group), nonEmpty(arch)
			if groupPolicy != "" {
				if err := oneOf("group-policy", groupPolicy, string(api.GroupPolicySameHost), string(api.GroupPolicyDifferentHost)); err != nil {
					return err
				}
				in.GroupPolicy = ptr(api.GroupPolicy(groupPolicy))
			}
			if (group == "") != (groupPolicy == "") {
				return fmt.Errorf("give --group and --group-policy together, e.g. --group web --group-policy different-host")
			}
			var err error
			if spec.Env, err = parseEnv(env); err != nil {
				return err
			}
			if spec.Ports, err = parsePorts(ports); err != nil {
				return err
			}
			if spec.Volumes, err = parseVolumes(volumes); err != nil {
				return err
			}
			l, err := parseLabels(labels)
			if err != nil {
				return err
			}
			in.Labels = (*api.Labels)(&l)
			if len(cons) > 0 {
				in.Constraints = &cons
			}
			spec.Restart = &api.RestartPolicy{Policy: ptr(api.RestartPolicyPolicy(restart))}
			if check != "" {
				hc := &api.HealthCheck{Type: ptr(api.HealthCheckType(check)), Path: nonEmpty(checkPath),
					Retries: &checkRetries, IntervalSeconds: &checkInterval}
				if checkPort > 0 {
					hc.Port = &checkPort
				}
				if check == string(api.HealthCheckTypeExec) {
					hc.Command = spec.Command
				}
				spec.HealthCheck = hc
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			tenant, err := t.get(cmd.Context(), c)
			if err != nil {
				return err
			}
			inst, err := decode[api.Instance](c.API.CreateInstance(cmd.Context(), tenant, in))
			if err != nil {
				return err
			}
			if wait && !stopped {
				if inst, err = a.waitRunning(cmd.Context(), c, tenant, inst.Name); err != nil {
					return err
				}
			}
			return renderOne(a.out, a.format, inst, instanceCols)
		},
	}
	t.register(cmd)
	f := cmd.Flags()
	f.StringVar(&driver, "driver", string(api.InstanceDriverProcess), "process or docker (--image implies docker)")
	f.StringVar(&image, "image", "", "container image (docker)")
	f.StringVar(&cluster, "cluster", "", "cluster to run on (default: default)")
	f.Float64Var(&cpu, "cpu", 0.1, "cpu cores")
	f.Int64Var(&memory, "memory", 128, "memory limit in MiB")
	f.IntVar(&priority, "priority", 0, "quota tier priority to draw from")
	f.StringArrayVarP(&env, "env", "e", nil, "environment variable KEY=VALUE (repeat)")
	f.StringArrayVarP(&ports, "port", "p", nil, "host port mapping HOST:CONTAINER[/udp] (repeat)")
	f.StringArrayVarP(&volumes, "volume", "v", nil, "bind mount /host/dir:/dir[:ro] (repeat)")
	f.StringArrayVar(&labels, "label", nil, "label KEY=VALUE (repeat)")
	f.StringArrayVar(&cons, "constraint", nil, "host label term KEY=VALUE, KEY!=VALUE, KEY, !KEY, 'KEY in (A,B)' or 'KEY notin (A,B)' (repeat)")
	f.StringVar(&zone, "zone", "", "availability zone to run in (default: any)")
	f.StringVar(&group, "group", "", "instance group it belongs to (with --group-policy)")
	f.StringVar(&groupPolicy, "group-policy", "", "same-host (beside its group) or different-host (never beside one of its group)")
	f.StringVar(&arch, "arch", "", "CPU architecture it needs, e.g. amd64 (default: any)")
	f.StringVar(&restart, "restart", string(api.RestartPolicyPolicyOnFailure), "restart policy: never, on-failure or always")
	f.StringVar(&check, "health", "", "health check: http, tcp or exec (exec runs the instance's command)")
	f.IntVar(&checkPort, "health-port", 0, "port the http or tcp check reaches")
	f.StringVar(&checkPath, "health-path", "", "path of the http check (default /)")
	f.IntVar(&checkRetries, "health-retries", 3, "failures in a row that make the instance unhealthy")
	f.IntVar(&checkInterval, "health-interval", 10, "seconds between checks")
	f.StringVar(&logPath, "log-path", "", "a log file inside the instance that `logs --file` reads")
	f.StringVar(&workdir, "workdir", "", "working directory")
	f.BoolVar(&stopped, "stopped", false, "create it stopped")
	f.BoolVar(&wait, "wait", false, "wait until it runs, showing its progress")
	return cmd
}

func parseEnv(pairs []string) (*map[string]string, error) {
	env := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--env %q: want KEY=VALUE", p)
		}
		env[k] = v
	}
	return &env, nil
}

func parsePorts(specs []string) (*[]api.PortMapping, error) {
	out := []api.PortMapping{}
	for _, s := range specs {
		mapping, proto, _ := strings.Cut(s, "/")
		hostPort, containerPort, ok := strings.Cut(mapping, ":")
		hp, err1 := strconv.Atoi(hostPort)
		cp, err2 := strconv.Atoi(containerPort)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("--port %q: want HOST:CONTAINER or HOST:CONTAINER/udp, e.g. 8080:80", s)
		}
		pm := api.PortMapping{HostPort: hp, ContainerPort: cp}
		if proto != "" {
			pm.Protocol = ptr(api.PortMappingProtocol(proto))
		}
		out = append(out, pm)
	}
	return &out, nil
}

func parseVolumes(specs []string) (*[]api.VolumeMount, error) {
	out := []api.VolumeMount{}
	for _, s := range specs {
		parts := strings.Split(s, ":")
		if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "ro") {
			return nil, fmt.Errorf("--volume %q: want /host/dir:/dir or /host/dir:/dir:ro", s)
		}
		out = append(out, api.VolumeMount{Source: parts[0], Target: parts[1], ReadOnly: ptr(len(parts) == 3)})
	}
	return &out, nil
}

// waitRunning polls an instance until it runs, showing its status; it gives
// up when the instance fails or stays pending without a host.
func (a *app) waitRunning(ctx context.Context, c *client.Client, tenant, name string) (*api.Instance, error) {
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(a.errOut), progressbar.OptionSpinnerType(14),
		progressbar.OptionSetVisibility(a.format == formatTable && isTerminal(a.errOut)),
		progressbar.OptionSetDescription("waiting"), progressbar.OptionClearOnFinish())
	defer bar.Finish()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		inst, err := decode[api.Instance](c.API.GetInstance(ctx, tenant, name))
		if err != nil {
			return nil, err
		}
		bar.Describe(fmt.Sprintf("%s %s", inst.Name, inst.Status))
		_ = bar.Add(1)
		switch inst.Status {
		case api.InstanceStatusRunning:
			return inst, nil
		case api.InstanceStatusFailed, api.InstanceStatusExited, api.InstanceStatusStopped:
			return nil, fmt.Errorf("instance %s is %s: %s; see `nimbus instance events %s` and `nimbus instance logs %s`",
				inst.Name, inst.Status, dash(inst.Message), inst.Name, inst.Name)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) instanceListCmd() *cobra.Command {
	var (
		p      pager
		t      tenantFlag
		all    bool
		status string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List instances of a tenant, or of every tenant you read with --all-tenants",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var st *api.InstanceStatus
			if status != "" {
				st = ptr(api.InstanceStatus(status))
			}
			tenant := ""
			if !all {
				if tenant, err = t.get(cmd.Context(), c); err != nil {
					return err
				}
			}
			items, next, err := collect(p, func(limit int, token string) ([]api.Instance, string, error) {
				var page *api.InstanceList
				var err error
				if all {
					page, err = decode[api.InstanceList](c.API.ListAllInstances(cmd.Context(),
						&api.ListAllInstancesParams{Status: st, Limit: &limit, PageToken: nonEmpty(token)}))
				} else {
					page, err = decode[api.InstanceList](c.API.ListInstances(cmd.Context(), tenant,
						&api.ListInstancesParams{Status: st, Limit: &limit, PageToken: nonEmpty(token)}))
				}
				if err != nil {
					return nil, "", err
				}
				return page.Items, page.NextPageToken, nil
			})
			if err != nil {
				return err
			}
			return printList(a, items, next, []column[api.Instance]{
				col("NAME", func(i api.Instance) string { return i.Name }),
				col("TENANT", func(i api.Instance) string { return i.Tenant }),
				col("STATUS", statusText),
				col("HOST", func(i api.Instance) string { return dash(i.Host) }),
				col("DRIVER", func(i api.Instance) string { return string(i.Spec.Driver) }),
				col("CPU", func(i api.Instance) string { return strconv.FormatFloat(deref(i.Spec.CPU), 'g', -1, 64) }),
				col("MEMORY MiB", func(i api.Instance) string { return strconv.FormatInt(deref(i.Spec.MemoryMib), 10) }),
				col("RESTARTS", func(i api.Instance) string { return strconv.Itoa(i.Restarts) }),
				col("AGE", func(i api.Instance) string { return when(i.CreatedAt) }),
			})
		},
	}
	t.register(cmd)
	cmd.Flags().BoolVar(&all, "all-tenants", false, "list the instances of every tenant you can read")
	cmd.Flags().StringVar(&status, "status", "", "only instances in this status")
	p.register(cmd)
	return cmd
}

func (a *app) instanceShowCmd() *cobra.Command {
	var t tenantFlag
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show an instance and its status",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := a.instanceClient(cmd, &t)
			if err != nil {
				return err
			}
			inst, err := decode[api.Instance](c.API.GetInstance(cmd.Context(), tenant, args[0]))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, inst, instanceCols)
		},
	}
	t.register(cmd)
	return cmd
}

// instanceClient returns a client and the tenant of an instance command.
func (a *app) instanceClient(cmd *cobra.Command, t *tenantFlag) (*client.Client, string, error) {
	c, err := a.client()
	if err != nil {
		return nil, "", err
	}
	tenant, err := t.get(cmd.Context(), c)
	return c, tenant, err
}

func (a *app) instanceDeleteCmd() *cobra.Command {
	var t tenantFlag
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an instance: its agent stops it and its quota is released",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := a.instanceClient(cmd, &t)
			if err != nil {
				return err
			}
			if err := done(c.API.DeleteInstance(cmd.Context(), tenant, args[0])); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "instance %s deleted\n", args[0])
			return nil
		},
	}
	t.register(cmd)
	return cmd
}

func (a *app) instanceActionCmd(action api.InstanceActionRequestAction, short string) *cobra.Command {
	var (
		t    tenantFlag
		wait bool
	)
	cmd := &cobra.Command{
		Use:   string(action) + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := a.instanceClient(cmd, &t)
			if err != nil {
				return err
			}
			inst, err := decode[api.Instance](c.API.InstanceAction(cmd.Context(), tenant, args[0],
				api.InstanceActionRequest{Action: action}))
			if err != nil {
				return err
			}
			if wait && action != api.InstanceActionRequestActionStop {
				if inst, err = a.waitRunning(cmd.Context(), c, tenant, inst.Name); err != nil {
					return err
				}
			}
			return renderOne(a.out, a.format, inst, instanceCols)
		},
	}
	t.register(cmd)
	if action != api.InstanceActionRequestActionStop {
		cmd.Flags().BoolVar(&wait, "wait", false, "wait until it runs, showing its progress")
	}
	return cmd
}

func (a *app) instanceEventsCmd() *cobra.Command {
	var (
		p pager
		t tenantFlag
	)
	cmd := &cobra.Command{
		Use:   "events NAME",
		Short: "Show an instance's timeline: placements, starts, exits, restarts, health changes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := a.instanceClient(cmd, &t)
			if err != nil {
				return err
			}
			items, next, err := collect(p, func(limit int, token string) ([]api.InstanceEvent, string, error) {
				page, err := decode[api.InstanceEventList](c.API.ListInstanceEvents(cmd.Context(), tenant, args[0],
					&api.ListInstanceEventsParams{Limit: &limit, PageToken: nonEmpty(token)}))
				if err != nil {
					return nil, "", err
				}
				return page.Items, page.NextPageToken, nil
			})
			if err != nil {
				return err
			}
			return printList(a, items, next, []column[api.InstanceEvent]{
				col("TIME", func(e api.InstanceEvent) string { return e.At.Local().Format(time.DateTime) }),
				col("EVENT", func(e api.InstanceEvent) string { return e.Type }),
				col("HOST", func(e api.InstanceEvent) string { return dash(e.Host) }),
				col("MESSAGE", func(e api.InstanceEvent) string { return dash(e.Message) }),
			})
		},
	}
	t.register(cmd)
	p.register(cmd)
	return cmd
}

func (a *app) instanceExplainCmd() *cobra.Command {
	var t tenantFlag
	cmd := &cobra.Command{
		Use:   "explain NAME",
		Short: "Say why an instance is or is not placed, host by host, and what preemption would free",
		Example: `  nimbus instance explain big-job
  10 hosts: 6 insufficient memory (needs 4096 MiB, best host has 3000), 3 labels not matched (zone=b), 1 not ready (cordoned)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := a.instanceClient(cmd, &t)
			if err != nil {
				return err
			}
			e, err := decode[api.Explanation](c.API.ExplainInstance(cmd.Context(), tenant, args[0]))
			if err != nil {
				return err
			}
			if a.format != formatTable {
				return renderData(a.out, a.format, e)
			}
			fmt.Fprintf(a.out, "%s is %s: %s\n", args[0], e.Status, e.Summary)
			if len(e.Reasons) > 0 {
				fmt.Fprintln(a.out)
				if err := renderList(a.out, a.format, e.Reasons, []column[api.ExplainReason]{
					col("HOSTS", func(r api.ExplainReason) string { return strconv.Itoa(r.Hosts) }),
					col("REASON", func(r api.ExplainReason) string { return r.Reason }),
					col("DETAIL", func(r api.ExplainReason) string { return dash(r.Detail) }),
				}); err != nil {
					return err
				}
			}
			if p := e.Preemption; p != nil {
				fmt.Fprintf(a.out, "\nPreemption: evicting %d instance(s) of priority %v on host %s would free %s.\n",
					p.Victims, p.VictimPriorities, p.Host, capacity(p.Frees))
			}
			return nil
		},
	}
	t.register(cmd)
	return cmd
}

func (a *app) instanceLogsCmd() *cobra.Command {
	var (
		t      tenantFlag
		opts   client.LogOptions
		file   bool
		stamps bool
	)
	cmd := &cobra.Command{
		Use:   "logs NAME [-f] [--tail N] [--file | --path PATH]",
		Short: "Print an instance's output (stdout and stderr, or its log file)",
		Example: `  nimbus instance logs web -f --tail 100
  nimbus instance logs web --file`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := a.instanceClient(cmd, &t)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if file && opts.Path == "" {
				inst, err := decode[api.Instance](c.API.GetInstance(ctx, tenant, args[0]))
				if err != nil {
					return err
				}
				if opts.Path = deref(inst.Spec.LogPath); opts.Path == "" {
					return fmt.Errorf("instance %s declares no log file: give --path PATH, or create it with --log-path", args[0])
				}
			}
			err = c.Logs(ctx, tenant, args[0], opts, func(e api.LogEntry) error {
				w := a.out
				if e.Stream == api.LogEntryStreamStderr {
					w = a.errOut
				}
				if stamps {
					fmt.Fprintf(w, "%s ", e.Time.Format(time.RFC3339Nano))
				}
				_, err := fmt.Fprint(w, e.Data)
				return err
			})
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	t.register(cmd)
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new output")
	cmd.Flags().IntVar(&opts.Tail, "tail", 0, "only the last N lines (0: all)")
	cmd.Flags().BoolVar(&file, "file", false, "read the log file the instance declares (--log-path)")
	cmd.Flags().StringVar(&opts.Path, "path", "", "read this file inside the instance")
	cmd.Flags().BoolVar(&stamps, "timestamps", false, "prefix each chunk with its time")
	return cmd
}

func (a *app) instanceExecCmd() *cobra.Command {
	var (
		t          tenantFlag
		tty, noTTY bool
	)
	cmd := &cobra.Command{
		Use:   "exec NAME [-t] -- COMMAND [ARG...]",
		Short: "Run a command inside an instance (a terminal with -t, the default when stdin is one)",
		Example: `  nimbus instance exec web -- sh
  nimbus instance exec web -- cat /etc/hostname`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 {
				return fmt.Errorf("give the command after --, e.g. nimbus instance exec %s -- sh", args[0])
			}
			c, tenant, err := a.instanceClient(cmd, &t)
			if err != nil {
				return err
			}
			in, isFile := a.in.(*os.File)
			useTTY := tty || (!noTTY && isFile && term.IsTerminal(int(in.Fd())) && isTerminal(a.out))
			opts := client.ExecOptions{Command: args[1:], TTY: useTTY, Stdin: a.in, Stdout: a.out, Stderr: a.errOut}
			if useTTY && isFile && term.IsTerminal(int(in.Fd())) {
				old, err := term.MakeRaw(int(in.Fd()))
				if err != nil {
					return fmt.Errorf("terminal: %w", err)
				}
				defer term.Restore(int(in.Fd()), old)
				opts.Resize = watchSize(cmd.Context(), int(in.Fd()))
			}
			code, err := c.Exec(cmd.Context(), tenant, args[0], opts)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitCode(code)
			}
			return nil
		},
	}
	t.register(cmd)
	cmd.Flags().BoolVarP(&tty, "tty", "t", false, "allocate a terminal")
	cmd.Flags().BoolVarP(&noTTY, "no-tty", "T", false, "never allocate a terminal")
	return cmd
}

// watchSize reports the terminal's size now and at every SIGWINCH.
func watchSize(ctx context.Context, fd int) <-chan stream.Size {
	ch := make(chan stream.Size, 1)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	send := func() {
		if w, h, err := term.GetSize(fd); err == nil {
			select {
			case ch <- stream.Size{Rows: uint16(h), Cols: uint16(w)}:
			default:
			}
		}
	}
	send()
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
				send()
			}
		}
	}()
	return ch
}

func (a *app) instanceMetricsCmd() *cobra.Command {
	var (
		t     tenantFlag
		since time.Duration
	)
	cmd := &cobra.Command{
		Use:   "metrics NAME [--since 1h]",
		Short: "Show an instance's cpu and memory over time",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, tenant, err := a.instanceClient(cmd, &t)
			if err != nil {
				return err
			}
			from := time.Now().Add(-since)
			series, err := decode[api.MetricSeries](c.API.GetInstanceMetrics(cmd.Context(), tenant, args[0],
				&api.GetInstanceMetricsParams{Since: &from}))
			if err != nil {
				return err
			}
			if a.format != formatTable {
				return renderData(a.out, a.format, series)
			}
			return printList(a, series.Points, "", []column[api.MetricPoint]{
				col("TIME", func(p api.MetricPoint) string { return p.At.Local().Format(time.DateTime) }),
				col("CPU CORES", func(p api.MetricPoint) string { return strconv.FormatFloat(p.CPU, 'f', 3, 64) }),
				col("MEMORY MiB", func(p api.MetricPoint) string {
					return strconv.FormatFloat(float64(p.MemoryBytes)/(1<<20), 'f', 1, 64)
				}),
			})
		},
	}
	t.register(cmd)
	cmd.Flags().DurationVar(&since, "since", time.Hour, "how far back")
	return cmd
}
