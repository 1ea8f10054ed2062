package demo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// receiver is the demo's SIEM: a syslog receiver over TCP on a free loopback port that takes
// RFC 6587 octet-counted frames (LEN SP MSG), and newline-terminated messages too, and
// appends every message it receives as one line to a file.
type receiver struct {
	ln   net.Listener
	path string

	mu    sync.Mutex // guards out, conns
	out   *bufio.Writer
	file  *os.File
	conns map[net.Conn]bool

	lines atomic.Int64
	bad   atomic.Int64 // connections that sent something that is not syslog over TCP
	wg    sync.WaitGroup
}

// startReceiver listens on a free loopback port and writes what it receives to path.
func startReceiver(path string) (*receiver, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("demo: syslog receiver: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("demo: syslog receiver: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("demo: syslog receiver: %w", err)
	}
	r := &receiver{ln: ln, path: path, file: f, out: bufio.NewWriter(f), conns: map[net.Conn]bool{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// Addr is the host:port the receiver listens on.
func (r *receiver) Addr() string { return r.ln.Addr().String() }

// Lines is how many messages it has received.
func (r *receiver) Lines() int64 { return r.lines.Load() }

func (r *receiver) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return // closed
		}
		r.mu.Lock()
		r.conns[c] = true
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := ReadFrames(c, r.write); err != nil {
				r.bad.Add(1)
			}
			r.mu.Lock()
			delete(r.conns, c)
			r.mu.Unlock()
			c.Close()
		}()
	}
}

// write appends one message as a line (a message holding a line break could not be one
// line: it is written with \n escaped).
func (r *receiver) write(msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.out.Write(bytes.ReplaceAll(msg, []byte("\n"), []byte(`\n`)))
	_ = r.out.WriteByte('\n')
	// Flushed at once, so that the lines counted are in the file for whoever reads it.
	_ = r.out.Flush()
	r.lines.Add(1)
}

// Close stops listening, closes the connections and the file.
func (r *receiver) Close() error {
	err := r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	if ferr := r.out.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	if ferr := r.file.Close(); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// maxFrame bounds one message, as a receiver's max message size does.
const maxFrame = 1 << 20

// ReadFrames reads syslog messages from a TCP stream until it ends and hands each to emit
// (the slice is reused). A frame that starts with a digit is octet-counted (RFC 6587
// §3.4.1: LEN SP MSG); one that starts with '<' runs to the next line feed (§3.4.2). It
// returns nil at a clean end of the stream, and an error for anything else.
func ReadFrames(rd io.Reader, emit func([]byte)) error {
	br := bufio.NewReaderSize(rd, 64<<10)
	buf := make([]byte, 0, 4096)
	for {
		c, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case c >= '1' && c <= '9':
			n := int(c - '0')
			for {
				c, err = br.ReadByte()
				if err != nil {
					return fmt.Errorf("octet count: %w", unexpected(err))
				}
				if c == ' ' {
					break
				}
				if c < '0' || c > '9' || n > maxFrame/10 {
					return fmt.Errorf("octet count: %q is not a digit, or the length is too large", c)
				}
				n = n*10 + int(c-'0')
			}
			if n > maxFrame {
				return fmt.Errorf("a frame of %d bytes: more than %d", n, maxFrame)
			}
			buf = append(buf[:0], make([]byte, n)...)
			if _, err := io.ReadFull(br, buf); err != nil {
				return fmt.Errorf("a frame of %d bytes: %w", n, unexpected(err))
			}
			emit(buf)
		case c == '<':
			line, err := br.ReadSlice('\n')
			buf = append(append(buf[:0], c), line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(buf) <= maxFrame {
				line, err = br.ReadSlice('\n')
				buf = append(buf, line...)
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("a newline-framed message: %w", err)
			}
			emit(bytes.TrimRight(buf, "\r\n"))
			if err != nil {
				return nil
			}
		case c == '\n' || c == '\r':
			// stray line ends between frames
		default:
			return fmt.Errorf("%q starts neither an octet count nor a syslog message", c)
		}
	}
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
