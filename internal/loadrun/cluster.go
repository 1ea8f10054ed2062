package loadrun

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/cluster"
)

// The cluster mode (Options.Cluster = N): a 3-node NATS JetStream cluster in this process and N
// shipper processes on one configuration with a `cluster:` section, each named by LS_NODE and
// keeping its local state under LS_DIR. Their CPU times are summed; the peak RSS is the
// largest of any one process. The NATS servers' work, like cloudsim's, is not counted.

// clusterBucket prefixes the load run's key-value buckets.
const clusterBucket = "logshipper"

// clusterSection is the `cluster:` section every member runs with.
func clusterSection(urls []string, ttl time.Duration) string {
	return fmt.Sprintf(`cluster:
  urls: [%s]
  node: ${LS_NODE}
  replicas: 3
  lease_ttl: %s
  bucket: %s
`, strings.Join(urls, ", "), ttl, clusterBucket)
}

// partitioned is a journey whose far end tells which source partition each delivered record
// came from, so a takeover can be seen there.
type partitioned interface {
	// plugin is the source's plugin name, as its leases name it.
	plugin() string
	// farEnd says where a delivered record is ("stored in the lake").
	farEnd() string
	// delivered counts the distinct wanted records the far end holds, by partition key.
	delivered() map[string]int64
	// wanted counts the wanted records by partition key.
	wanted() map[string]int64
}

// Takeover is what a cluster crash run measured of its one SIGKILL.
type Takeover struct {
	Victim string
	// Partitions are the partitions with records left to deliver at the kill whose lease still
	// named the victim once it was dead.
	Partitions []string
	// Acquired is, per partition, the time from the kill to the "partition acquired" line of
	// the member that took it (the time in that member's log); Owner that member.
	Acquired map[string]time.Duration
	Owner    map[string]string
	// First is, per partition, the time from the kill to the first sample of the far end that
	// held more of the partition's records than at the kill, taken no earlier than Acquired.
	First map[string]time.Duration
	// Sampling is how often the far end was read after the kill (the resolution of First).
	Sampling time.Duration
	// FarEnd says where First's records are ("stored in the lake").
	FarEnd string
}

// Range is the earliest and the latest of the partitions' times in d, and how many there are.
func Range(d map[string]time.Duration) (lo, hi time.Duration, n int) {
	for _, v := range d {
		if n == 0 || v < lo {
			lo = v
		}
		if n == 0 || v > hi {
			hi = v
		}
		n++
	}
	return lo, hi, n
}

// owners reads which member holds each partition lease of plugin now.
func owners(ctx context.Context, urls []string, ttl time.Duration, plugin string) (map[string]string, error) {
	cfg := cluster.NewConfig()
	cfg.URLs, cfg.Node, cfg.LeaseTTL, cfg.Bucket = urls, "loadrun", ttl, clusterBucket
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := cluster.Observe(ctx, *cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, l := range st.Leases {
		if l.Plugin == plugin {
			out[l.Partition] = l.Owner
		}
	}
	return out, nil
}

// chooseVictim picks the member that owns the most partitions with records left to deliver
// (the first by name on a tie), and returns those partitions.
func chooseVictim(own map[string]string, left func(part string) bool) (string, []string) {
	by := map[string][]string{}
	for part, o := range own {
		if left(part) {
			by[o] = append(by[o], part)
		}
	}
	victim := ""
	for _, o := range slices.Sorted(maps.Keys(by)) {
		if victim == "" || len(by[o]) > len(by[victim]) {
			victim = o
		}
	}
	parts := by[victim]
	slices.Sort(parts)
	return victim, parts
}

// heldBy is the partitions with records left whose lease names owner in own, sorted.
func heldBy(own map[string]string, owner string, left func(part string) bool) []string {
	var parts []string
	for part, o := range own {
		if o == owner && left(part) {
			parts = append(parts, part)
		}
	}
	slices.Sort(parts)
	return parts
}

// acquired reads a member's JSON log for its "partition acquired" lines of plugin after since:
// partition → when.
func acquired(path, plugin string, since time.Time) (map[string]time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]time.Time{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"partition acquired"`) {
			continue
		}
		var l struct {
			Time      time.Time `json:"time"`
			Msg       string    `json:"msg"`
			Plugin    string    `json:"plugin"`
			Partition string    `json:"partition"`
		}
		if json.Unmarshal(line, &l) != nil || l.Msg != "partition acquired" || l.Plugin != plugin || !l.Time.After(since) {
			continue
		}
		if _, ok := out[l.Partition]; !ok {
			out[l.Partition] = l.Time
		}
	}
	return out, sc.Err()
}

// takeoverSample is the far end's count of the victim's partitions at one moment after the kill.
type takeoverSample struct {
	at     time.Time
	counts map[string]int64
}

// measureTakeover works out the Takeover from the samples taken after the kill and the other
// members' logs.
func measureTakeover(tk *Takeover, killAt time.Time, base map[string]int64, samples []takeoverSample, logs map[string]string, plugin string) error {
	tk.Acquired, tk.Owner, tk.First = map[string]time.Duration{}, map[string]string{}, map[string]time.Duration{}
	acq := map[string]time.Time{}
	for node, path := range logs {
		if node == tk.Victim {
			continue
		}
		got, err := acquired(path, plugin, killAt)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		for part, at := range got {
			if !slices.Contains(tk.Partitions, part) {
				continue
			}
			if prev, ok := acq[part]; !ok || at.Before(prev) {
				acq[part], tk.Owner[part] = at, node
			}
		}
	}
	for part, at := range acq {
		tk.Acquired[part] = at.Sub(killAt)
	}
	for _, part := range tk.Partitions {
		from, ok := acq[part]
		if !ok {
			continue // not taken over (it would show in Owner): no first record to time
		}
		for _, s := range samples {
			if !s.at.Before(from) && s.counts[part] > base[part] {
				tk.First[part] = s.at.Sub(killAt)
				break
			}
		}
	}
	return nil
}
