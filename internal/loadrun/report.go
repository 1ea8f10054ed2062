package loadrun

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Machine describes where the figures were taken.
func Machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	kernel := ""
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		kernel = ", " + strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%d cores (%s)%s%s, %s", runtime.NumCPU(), cpu, mem, kernel, runtime.Version())
}

// WriteTable writes the results as a Markdown table.
func WriteTable(w io.Writer, rs []Result) {
	var b bytes.Buffer
	b.WriteString("| journey | run | records | delivered | lost | twice | re-sent, deduplicated | wall | slowdown | records/s | shipper CPU s per M | peak RSS | floor CPU s per M | kills | latency median / p99 |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	plain := map[string]Result{}
	for _, r := range rs {
		if r.Mode == Plain {
			plain[r.Journey+r.procs()] = r
		}
	}
	var rows []Result
	for _, r := range rs {
		rows = append(rows, r)
		if r.Peer != nil {
			rows = append(rows, *r.Peer)
		}
	}
	for _, r := range rows {
		slow := "—"
		if p, ok := plain[r.Journey+r.procs()]; ok && r.Mode != Plain && r.Runner == "" && p.PerSecond() > 0 && r.PerSecond() > 0 {
			slow = fmt.Sprintf("%.1fx", p.PerSecond()/r.PerSecond()) // per record: runs may differ in size
		}
		lat := "—"
		if l := r.Latency; l != nil && l.N > 0 {
			lat = fmt.Sprintf("%.1f / %.1f s", l.Median.Seconds(), l.P99.Seconds())
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d of %d | %d | %d | %d | %.1f s | %s | %.0f | %.2f | %.0f MB | %.2f | %d | %s |\n",
			r.Journey, r.run(), r.Held, r.Got, r.Want, r.Lost, r.Twice, r.Resent, r.Wall.Seconds(), slow, r.PerSecond(),
			r.CPUPerMillion(), float64(r.MaxRSS)/(1<<20), r.Floor.CPUPerMillion(), r.Kills, lat)
	}
	for _, r := range rows {
		if r.Faults != "" || r.Note != "" {
			fmt.Fprintf(&b, "\n- %s/%s: %s %s", r.Journey, r.run(), r.Faults, strings.TrimSpace(r.Note))
		}
	}
	for _, r := range rs {
		if p := r.Peer; p != nil && r.CPUPerMillion() > 0 && r.MaxRSS > 0 {
			fmt.Fprintf(&b, "\n- %s/%s: %s / logshipper: CPU s per million %.2f / %.2f = %.2fx, peak RSS %.0f / %.0f MB = %.2fx, wall %.1f / %.1f s",
				r.Journey, r.run(), p.Runner, p.CPUPerMillion(), r.CPUPerMillion(), p.CPUPerMillion()/r.CPUPerMillion(),
				float64(p.MaxRSS)/(1<<20), float64(r.MaxRSS)/(1<<20), float64(p.MaxRSS)/float64(r.MaxRSS),
				p.Wall.Seconds(), r.Wall.Seconds())
		}
	}
	for _, r := range rs {
		if len(r.MemberRSS) > 0 {
			var mb []string
			for _, v := range r.MemberRSS {
				mb = append(mb, fmt.Sprintf("%.0f", float64(v)/(1<<20)))
			}
			fmt.Fprintf(&b, "\n- %s/%s%s: peak RSS per process %s MB", r.Journey, r.Mode, r.procs(), strings.Join(mb, ", "))
		}
	}
	for _, r := range rs {
		if tk := r.Takeover; tk != nil {
			alo, ahi, an := Range(tk.Acquired)
			lo, hi, n := Range(tk.First)
			fmt.Fprintf(&b, "\n- %s/%s%s: killed %s, which owned %d partitions with records left (%s); taken over (\"partition acquired\" in the new owner's log) %.1f–%.1f s after the kill (%d of them); first new record of one of them %s %.1f–%.1f s after the kill (%d of them; sampled every %s)",
				r.Journey, r.Mode, r.procs(), tk.Victim, len(tk.Partitions), strings.Join(tk.Partitions, ", "),
				alo.Seconds(), ahi.Seconds(), an, tk.FarEnd, lo.Seconds(), hi.Seconds(), n, tk.Sampling)
		}
	}
	b.WriteString("\n")
	_, _ = w.Write(b.Bytes())
}

// run names the row's run: its mode, cluster, round and, for a peer or a second shipper, its
// reader.
func (r Result) run() string {
	s := string(r.Mode) + r.procs()
	if r.Round > 0 {
		s += fmt.Sprintf(", round %d", r.Round)
	}
	if r.Runner != "" {
		s += ", " + r.Runner
	}
	return s
}

// procs names a cluster run's processes for the table ("" outside cluster mode).
func (r Result) procs() string {
	if r.Procs == 0 {
		return ""
	}
	return fmt.Sprintf(", cluster of %d", r.Procs)
}
