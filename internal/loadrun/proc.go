package loadrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// shipper is one process of the shipper under test.
type shipper struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes
	peak int64 // the largest VmHWM seen, bytes
}

// startShipper starts bin on the configuration cfg, with env added to this process's
// environment, writing its output to log.
func startShipper(bin, cfg string, log io.Writer, env []string) (*shipper, error) {
	return startProcess(bin, []string{"run", "-c", cfg}, log, env)
}

// startProcess starts bin with args, with env added to this process's environment, writing
// its output to log.
func startProcess(bin string, args []string, log io.Writer, env []string) (*shipper, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadrun: starting %s: %w", bin, err)
	}
	p := &shipper{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// sample reads the process's resident set now and its high-water mark from /proc, and keeps
// the mark. (The kernel's rusage of a child is no use here: the child is started with vfork,
// and at exec the kernel records the high-water mark of the memory it shared with this
// process, which holds cloudsim's whole backlog.)
func (p *shipper) sample() (rss, hwm int64) {
	rss, hwm, err := statusRSS(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, p.peak
	}
	p.peak = max(p.peak, hwm)
	return rss, p.peak
}

// statusRSS reads the resident set (VmRSS) and its high-water mark (VmHWM) from a
// /proc/<pid>/status file, in bytes.
func statusRSS(path string) (rss, hwm int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss = kB(v)
		}
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			hwm = kB(v)
		}
	}
	return rss, hwm, nil
}

func kB(v string) int64 {
	var n int64
	fmt.Sscanf(strings.TrimSpace(v), "%d kB", &n)
	return n * 1024
}

// rss describes the resident set now and at its peak.
func (p *shipper) rss() string {
	now, peak := p.sample()
	return fmt.Sprintf("%.0f MB (peak %.0f MB)", float64(now)/(1<<20), float64(peak)/(1<<20))
}

// exited returns a non-nil error once the process has ended.
func (p *shipper) exited() error {
	select {
	case <-p.done:
		if p.err == nil {
			return errors.New("exit status 0")
		}
		return p.err
	default:
		return nil
	}
}

// kill9 kills the process with SIGKILL and returns what it used.
func (p *shipper) kill9() usage {
	p.sample()
	_ = p.cmd.Process.Kill()
	<-p.done
	return p.usage()
}

// kill is kill9 for deferred clean-up.
func (p *shipper) kill() {
	select {
	case <-p.done:
	default:
		p.kill9()
	}
}

// stop asks the process to stop (SIGTERM), waits for it, and returns what it used.
func (p *shipper) stop(timeout time.Duration) (usage, error) {
	p.sample()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return usage{}, fmt.Errorf("loadrun: stopping the shipper: %w", err)
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		u := p.kill9()
		return u, fmt.Errorf("loadrun: the shipper did not stop within %s of SIGTERM", timeout)
	}
	if p.err != nil {
		return p.usage(), fmt.Errorf("loadrun: the shipper ended badly after SIGTERM: %w", p.err)
	}
	return p.usage(), nil
}

// usage is what processes of the shipper used: CPU time summed, peak RSS the largest.
type usage struct {
	cpu    time.Duration
	maxRSS int64
}

func (u *usage) add(v usage) {
	u.cpu += v.cpu
	u.maxRSS = max(u.maxRSS, v.maxRSS)
}

// usage is what the ended process used: its CPU time from the kernel, its peak RSS sampled.
func (p *shipper) usage() usage {
	ps := p.cmd.ProcessState
	if ps == nil {
		return usage{maxRSS: p.peak}
	}
	return usage{cpu: ps.UserTime() + ps.SystemTime(), maxRSS: p.peak}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("loadrun: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// takeProfile fetches a CPU profile of the shipper from its admin endpoint.
func takeProfile(ctx context.Context, addr, path string, d time.Duration) error {
	if d <= 0 {
		d = 20 * time.Second
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * time.Second):
	}
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds()))
	if err := fetch(ctx, url, path); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	// And where the memory is, at the end of the CPU profile.
	return fetch(ctx, fmt.Sprintf("http://%s/debug/pprof/heap", addr), strings.TrimSuffix(path, ".pprof")+".heap")
}

// fetch saves what url answers to path.
func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	return os.WriteFile(path, b, 0o644)
}
