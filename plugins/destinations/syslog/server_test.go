package syslog

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// server is a test syslog receiver over TCP: it reads octet-counted or newline-framed
// messages from every connection and keeps them in arrival order.
type server struct {
	ln      net.Listener
	newline bool
	// dropAfter, when > 0, makes the server reset its first connection after reading that many
	// messages from it (the messages after them are lost with the connection).
	dropAfter int

	mu    sync.Mutex
	msgs  []string
	conns int
	wg    sync.WaitGroup
}

func newServer(t *testing.T, newline bool, dropAfter int) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln, newline: newline, dropAfter: dropAfter}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() { _ = ln.Close(); s.wg.Wait() })
	return s
}

func (s *server) addr() string { return s.ln.Addr().String() }

func (s *server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		n := s.conns
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.read(c, n == 1 && s.dropAfter > 0)
		}()
	}
}

func (s *server) read(c net.Conn, drop bool) {
	r := bufio.NewReader(c)
	count := 0
	for {
		msg, err := readFrame(r, s.newline)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, msg)
		s.mu.Unlock()
		count++
		if drop && count == s.dropAfter {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset: what the kernel holds unread is lost
			}
			return
		}
	}
}

func readFrame(r *bufio.Reader, newline bool) (string, error) {
	if newline {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		return strings.TrimSuffix(line, "\n"), nil
	}
	lenStr, err := r.ReadString(' ')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(lenStr, " "))
	if err != nil || n <= 0 {
		return "", errors.New("bad octet count " + strconv.Quote(lenStr))
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

func (s *server) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

func (s *server) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// msgOf returns the MSG part of an RFC 5424 message without structured data.
func msgOf(t testing.TB, m string) string {
	t.Helper()
	parts := strings.SplitN(m, " ", 8)
	if len(parts) != 8 || parts[6] != "-" {
		t.Fatalf("not an RFC 5424 message without SD: %q", m)
	}
	return parts[7]
}
