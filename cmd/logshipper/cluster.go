package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/cluster"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// clusterReader reads a cluster's members and leases.
type clusterReader interface {
	Status(ctx context.Context) (cluster.Status, error)
	Close() error
}

// clusterMember is a member of a cluster: its reader and the cluster's state store.
type clusterMember interface {
	clusterReader
	Store() state.Store
}

var _ clusterMember = (*cluster.Cluster)(nil)

// clusterDial is how the cluster and state commands reach a cluster; tests give fakes.
type clusterDial struct {
	// observe connects as a client that does not join: it holds no member key, so the
	// partitions stay where they are.
	observe func(ctx context.Context, cfg cluster.Config, log *slog.Logger) (clusterReader, error)
	// join connects as a member (cluster.Connect).
	join func(ctx context.Context, cfg cluster.Config, log *slog.Logger) (clusterMember, error)
}

// liveCluster dials real clusters.
func liveCluster() clusterDial {
	return clusterDial{
		observe: func(ctx context.Context, cfg cluster.Config, log *slog.Logger) (clusterReader, error) {
			return cluster.Observe(ctx, cfg, log)
		},
		join: func(ctx context.Context, cfg cluster.Config, log *slog.Logger) (clusterMember, error) {
			return cluster.Connect(ctx, cfg, log)
		},
	}
}

// clusterTimeout bounds a command's connection to the cluster and its reads.
const clusterTimeout = 30 * time.Second

// loadClusterConfig loads the configuration at path and returns its cluster: section; a file
// without one is an error.
func loadClusterConfig(cmd *cobra.Command, path string, reg *plugin.Registry) (*config.Config, *cluster.Config, error) {
	cfg, err := loadConfig(cmd, path, reg)
	if err != nil {
		return nil, nil, err
	}
	cc := app.ClusterConfig(cfg)
	if cc == nil {
		return nil, nil, fmt.Errorf("%s has no cluster: section: logshipper runs there as a single process (see docs/cluster.md)", path)
	}
	return cfg, cc, nil
}

func newClusterCmd(reg *plugin.Registry, dial clusterDial) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Look at a cluster of logshipper processes (cluster mode)",
		Long: `In cluster mode (a cluster: section) several logshipper processes run one
configuration, their state in NATS JetStream, each source partition read by one member at
a time. See docs/cluster.md.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newClusterStatusCmd(reg, dial))
	return cmd
}

func newClusterStatusCmd(reg *plugin.Registry, dial clusterDial) *cobra.Command {
	var (
		path    string
		asJSON  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status -c FILE",
		Short: "Show the members of the cluster and which partition each one reads",
		Long: `status connects to the NATS servers of the configuration's cluster: section as a
client (it does not join: no partition moves) and prints the live members (node, when it
joined, its last heartbeat) and every partition lease by source: the partition, its owner,
since when it holds it, how long ago it renewed it, and its lag: how long before now is the
time of the latest data of the partition delivered and saved, as of the owner's last renewal
("-" until the owner has saved a position under this lease). A lease whose owner is no longer
a live member is marked; it passes to another member within lease_ttl.

It exits 1 when it cannot reach the cluster.`,
		Example: `  logshipper cluster status -c examples/cluster.yaml
  logshipper cluster status -c examples/cluster.yaml --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, cc, err := loadClusterConfig(cmd, path, reg)
			if err != nil {
				return err
			}
			log := telemetry.NewLogger(cmd.ErrOrStderr(), telemetry.LogConfig{Level: "warn", Format: "text"})
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			st, err := readStatus(ctx, dial, *cc, log)
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "cluster status: cannot reach the cluster through %s: %v\n", strings.Join(cc.URLs, ", "), err)
				return exitCode(1)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(statusJSON(st, time.Now()))
			}
			printStatus(cmd.OutOrStdout(), cc, st, time.Now())
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	cmd.Flags().DurationVar(&timeout, "timeout", clusterTimeout, "how long to try to reach the cluster")
	return cmd
}

func readStatus(ctx context.Context, dial clusterDial, cc cluster.Config, log *slog.Logger) (cluster.Status, error) {
	c, err := dial.observe(ctx, cc, log)
	if err != nil {
		return cluster.Status{}, err
	}
	st, err := c.Status(ctx)
	if cerr := c.Close(); err == nil && cerr != nil {
		log.Warn("cluster: closing the connection", "error", cerr)
	}
	return st, err
}

// ownerGone marks, in the status, a lease whose owner is not a live member.
const ownerGone = " (not a live member)"

// printStatus writes the status as tables: the members, then the leases of each source.
func printStatus(w io.Writer, cc *cluster.Config, st cluster.Status, now time.Time) {
	owned := map[string]int{}
	for _, l := range st.Leases {
		owned[l.Owner]++
	}
	live := map[string]bool{}
	members := slices.Clone(st.Members)
	slices.SortFunc(members, func(a, b cluster.Member) int { return cmp.Compare(a.Node, b.Node) })
	fmt.Fprintf(w, "cluster %s (buckets %s_*): %s, %s\n\n", strings.Join(cc.URLs, ","), cc.Bucket, plural(len(members), "member"), plural(len(st.Leases), "partition lease"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTARTED\tLAST SEEN\tPARTITIONS")
	for _, m := range members {
		live[m.Node] = true
		fmt.Fprintf(tw, "%s\t%s\t%s ago\t%d\n", m.Node, stamp(m.Started), age(now, m.Seen), owned[m.Node])
	}
	_ = tw.Flush()
	if qs := quotaRows(members); len(qs) > 0 {
		fmt.Fprintf(w, "\nAPI quotas (divided among the members that call them, by use; held back: the member would call more):\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  QUOTA\tNODE\tCALLS/S\tHELD BACK")
		for _, q := range qs {
			held := "no"
			if q.use.HeldBack {
				held = "yes"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%.1f\t%s\n", q.key, q.node, q.use.Rate, held)
		}
		_ = tw.Flush()
	}
	for _, g := range leasesByPlugin(st.Leases) {
		fmt.Fprintf(w, "\n%s: %s\n", g.plugin, plural(len(g.leases), "partition"))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  PARTITION\tOWNER\tHELD SINCE\tRENEWED\tLAG")
		for _, l := range g.leases {
			owner := l.Owner
			if !live[owner] {
				owner += ownerGone
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s ago\t%s\n", l.Partition, owner, stamp(l.Since), age(now, l.Renewed), lag(now, l.Progress))
		}
		_ = tw.Flush()
	}
}

type quotaRow struct {
	key, node string
	use       cluster.QuotaUse
}

// quotaRows lists each member's use of each quota, by quota then node.
func quotaRows(members []cluster.Member) []quotaRow {
	var rows []quotaRow
	for _, m := range members {
		for k, u := range m.Quotas {
			rows = append(rows, quotaRow{key: k, node: m.Node, use: u})
		}
	}
	slices.SortFunc(rows, func(a, b quotaRow) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.node, b.node)) })
	return rows
}

type pluginLeases struct {
	plugin string
	leases []cluster.LeaseInfo
}

// leasesByPlugin groups the leases by source, each group by partition.
func leasesByPlugin(ls []cluster.LeaseInfo) []pluginLeases {
	ls = slices.Clone(ls)
	slices.SortFunc(ls, func(a, b cluster.LeaseInfo) int {
		return cmp.Or(cmp.Compare(a.Plugin, b.Plugin), cmp.Compare(a.Partition, b.Partition))
	})
	var out []pluginLeases
	for _, l := range ls {
		if len(out) == 0 || out[len(out)-1].plugin != l.Plugin {
			out = append(out, pluginLeases{plugin: l.Plugin})
		}
		out[len(out)-1].leases = append(out[len(out)-1].leases, l)
	}
	return out
}

// plural is "1 member", "2 members".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// age is how long before now t was, to the tenth of a second.
func age(now, t time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		d = 0 // another machine's clock ahead of this one
	}
	return d.Round(100 * time.Millisecond).String()
}

// lag is how long before now the partition's progress is, to the second; "-" when unknown.
func lag(now, progress time.Time) string {
	if progress.IsZero() {
		return "-"
	}
	return max(0, now.Sub(progress)).Round(time.Second).String()
}

type memberOut struct {
	Node       string    `json:"node"`
	Started    time.Time `json:"started"`
	LastSeen   time.Time `json:"last_seen"`
	Partitions int       `json:"partitions"`
	// Quotas is the member's use of each API quota it calls, by quota key.
	Quotas map[string]quotaOut `json:"quotas,omitempty"`
}

type quotaOut struct {
	CallsPerSecond float64 `json:"calls_per_second"`
	HeldBack       bool    `json:"held_back"`
}

type leaseOut struct {
	Partition string    `json:"partition"`
	Owner     string    `json:"owner"`
	OwnerLive bool      `json:"owner_live"`
	Since     time.Time `json:"since"`
	Renewed   time.Time `json:"renewed"`
	// RenewedAgeSeconds is how long before the status was read the lease was renewed.
	RenewedAgeSeconds float64 `json:"renewed_age_seconds"`
	// Progress is the time of the latest data of the partition delivered and saved, as of the
	// last renewal; absent until the owner reports it.
	Progress time.Time `json:"progress,omitzero"`
	// LagSeconds is how long before the status was read Progress is; absent with it.
	LagSeconds *float64 `json:"lag_seconds,omitempty"`
}

type statusOut struct {
	Members []memberOut `json:"members"`
	// Leases are by source (plugin configuration name).
	Leases map[string][]leaseOut `json:"leases"`
}

// statusJSON is the status as --json prints it.
func statusJSON(st cluster.Status, now time.Time) statusOut {
	out := statusOut{Members: []memberOut{}, Leases: map[string][]leaseOut{}}
	owned := map[string]int{}
	for _, l := range st.Leases {
		owned[l.Owner]++
	}
	live := map[string]bool{}
	for _, m := range st.Members {
		live[m.Node] = true
		mo := memberOut{Node: m.Node, Started: m.Started.UTC(), LastSeen: m.Seen.UTC(), Partitions: owned[m.Node]}
		for k, u := range m.Quotas {
			if mo.Quotas == nil {
				mo.Quotas = map[string]quotaOut{}
			}
			mo.Quotas[k] = quotaOut{CallsPerSecond: u.Rate, HeldBack: u.HeldBack}
		}
		out.Members = append(out.Members, mo)
	}
	slices.SortFunc(out.Members, func(a, b memberOut) int { return cmp.Compare(a.Node, b.Node) })
	for _, g := range leasesByPlugin(st.Leases) {
		for _, l := range g.leases {
			lo := leaseOut{
				Partition: l.Partition, Owner: l.Owner, OwnerLive: live[l.Owner], Since: l.Since.UTC(), Renewed: l.Renewed.UTC(),
				RenewedAgeSeconds: max(0, now.Sub(l.Renewed).Round(time.Millisecond).Seconds()),
			}
			if !l.Progress.IsZero() {
				lo.Progress = l.Progress.UTC()
				secs := max(0, now.Sub(l.Progress).Round(time.Millisecond).Seconds())
				lo.LagSeconds = &secs
			}
			out.Leases[g.plugin] = append(out.Leases[g.plugin], lo)
		}
	}
	return out
}
