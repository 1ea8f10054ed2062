package state

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// helperDirEnv tells a re-executed test binary to act as the other logshipper process: see
// TestHelperProcess.
const helperDirEnv = "LOGSHIPPER_STATE_HELPER_DIR"

// TestHelperProcess is not a test. TestOpenLockedByAnotherProcess runs the test binary again
// with only this function selected and helperDirEnv set; it then opens the data directory,
// writes some state, says "ready" and holds the lock until it is killed (or its stdin closes,
// so that it never outlives the parent).
func TestHelperProcess(*testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		return
	}
	db, err := Open(dir)
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	ns := db.Namespace("plugin/src")
	if err := ns.Put(context.Background(), "k", []byte("from-child")); err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	c := NewCursor(ns, "file/abc")
	c.Track([]byte("pos-1"))(event.Acked)
	c.Track([]byte("pos-2"))(event.Acked)
	if err := c.Err(); err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	// Never Close: the parent kills us, and if it does not we exit without cleaning up either.
	os.Exit(0)
}

func TestOpenLockedByAnotherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperDirEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		stdin.Close()
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if line == "ready" {
				ready <- nil
				// Keep draining so the child never blocks on a full pipe.
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
			if strings.HasPrefix(line, "error ") {
				ready <- errors.New(line)
				return
			}
		}
		ready <- fmt.Errorf("child exited before it was ready (scan: %v)", sc.Err())
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("helper process: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("helper process not ready after 60s; stderr: %s", stderr.String())
	}
	childPid := cmd.Process.Pid

	// The child owns the directory: Open fails at once with ErrLocked, naming dir and pid.
	start := time.Now()
	db, err := Open(dir)
	if err == nil {
		db.Close()
		t.Fatal("Open succeeded while another process holds the data directory")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v; want it to wrap ErrLocked", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Open took %v to give up; want it to fail fast", d)
	}
	if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, fmt.Sprintf("(pid %d)", childPid)) {
		t.Errorf("error %q should name the directory %q and the child's pid %d", msg, dir, childPid)
	}

	// kill -9: no Close, no pid file cleanup. The kernel drops the lock with the process.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	waited = true
	if err == nil || cmd.ProcessState.Success() {
		t.Fatalf("child exited cleanly (%v); want it killed", err)
	}

	db, err = Open(dir)
	if err != nil {
		t.Fatalf("Open after the owner was killed: %v", err)
	}
	defer db.Close()

	// What the child wrote before it was killed is there.
	ns := db.Namespace("plugin/src")
	if got := mustGet(t, ns, "k"); got != "from-child" {
		t.Errorf("k = %q; want from-child", got)
	}
	pos, err := NewCursor(ns, "file/abc").Load(context.Background())
	if err != nil || string(pos) != "pos-2" {
		t.Errorf("cursor Load = %q, %v; want pos-2", pos, err)
	}
	// The stale pid file now names this process.
	b, err := os.ReadFile(filepath.Join(dir, pidFileName))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file = %q; want this process's pid %d", got, os.Getpid())
	}
}
