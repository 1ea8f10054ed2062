package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// slowBody sends a request whose body never arrives whole and returns the status line of the
// answer, or an error when there is none within 10 s.
func slowBody(t *testing.T, addr, path, cookie string) (string, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n", path, addr)
	if cookie != "" {
		req += "Cookie: " + cookie + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\nname=a"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	return bufio.NewReader(conn).ReadString('\n')
}

func TestSlowBodyIsCutOff(t *testing.T) {
	f := newFixture(t, nil)
	f.console.bodyTimeout = 200 * time.Millisecond
	c := f.client()
	c.login("admin", adminPassword)
	ck := c.sessionCookie()
	addr := strings.TrimPrefix(f.srv.URL, "http://")
	for _, tc := range []struct{ name, path, cookie string }{
		{"login", "/login", ""},
		{"change", "/plugins/delete/ns1", ck.Name + "=" + ck.Value},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, err := slowBody(t, addr, tc.path, tc.cookie)
			if err != nil {
				t.Fatalf("no answer while the body is missing: %v", err)
			}
			if !strings.Contains(status, " 400 ") {
				t.Errorf("got %q, want 400", status)
			}
		})
	}
	if len(f.backend.deleted) != 0 {
		t.Errorf("deleted %v", f.backend.deleted)
	}
}

// started serves the console on a loopback port, as run does.
func started(t *testing.T, change func(*Server)) string {
	t.Helper()
	s, err := New(testConfig(t), newFakeBackend(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(s)
	}
	addr, stop, err := s.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr.String()
}

func TestLargeHeaderIsRefused(t *testing.T) {
	addr := started(t, nil)
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/login", nil)
	req.Header.Set("X-Padding", strings.Repeat("a", 100<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a header of 100 KB: %s, want 431", resp.Status)
	}
}

func TestConnectionsAreLimited(t *testing.T) {
	addr := started(t, func(s *Server) { s.maxConns = 2 })
	// Two clients hold a connection each, open after a request.
	var held []net.Conn
	for range 2 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		if _, err := fmt.Fprintf(conn, "GET /login HTTP/1.1\r\nHost: %s\r\n\r\n", addr); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		held = append(held, conn)
	}
	get := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/login", nil)
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
	if err := get(300 * time.Millisecond); err == nil {
		t.Fatal("a third connection was served while two are held")
	}
	_ = held[0].Close()
	if err := get(10 * time.Second); err != nil {
		t.Fatalf("once a connection closed: %v", err)
	}
}
