package lakeapi

import (
	"bytes"
	"io"
	"sync/atomic"

	"github.com/logshipper/logshipper/internal/jsonx"
)

// maxPooledBody is the largest buffer kept for reuse; PutAuditEvents bodies are at most
// 1 MiB, with escaping slack.
const maxPooledBody = 4 << 20

// sharedBuf is a request body shared by the call that built it and the readers the HTTP
// transport gets (the body, and GetBody's copies for a retried connection). It goes back to
// its client's free list when the last of them is done: a transport may still be sending a
// body after the response arrived, until it closes the body.
type sharedBuf struct {
	b    []byte
	refs atomic.Int32
	free chan *sharedBuf
}

// freeBodies is how many request bodies a Client keeps for reuse: enough for the calls one
// destination has in flight. The client keeps them itself rather than in a sync.Pool, which
// drops what it holds every other garbage collection, and the Netskope journey's page bodies
// make collections frequent: each call would then allocate and clear its body afresh.
const freeBodies = 16

func newFreeBodies() chan *sharedBuf { return make(chan *sharedBuf, freeBodies) }

// getBuf returns an empty body from free, or a new one.
func getBuf(free chan *sharedBuf) *sharedBuf {
	var s *sharedBuf
	select {
	case s = <-free:
		s.b = s.b[:0]
	default:
		s = &sharedBuf{b: make([]byte, 0, 64<<10), free: free}
	}
	s.refs.Store(1)
	return s
}

func (s *sharedBuf) release() {
	if s.refs.Add(-1) == 0 && cap(s.b) <= maxPooledBody {
		select {
		case s.free <- s:
		default:
		}
	}
}

// bodyReader reads a sharedBuf and drops its reference on Close.
type bodyReader struct {
	bytes.Reader
	s      *sharedBuf
	closed atomic.Bool
}

func (s *sharedBuf) reader() *bodyReader {
	s.refs.Add(1)
	r := &bodyReader{s: s}
	r.Reset(s.b)
	return r
}

func (r *bodyReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.s.release()
	}
	return nil
}

var _ io.ReadCloser = (*bodyReader)(nil)

// appendPutBody appends the PutAuditEvents request body:
//
//	{"auditEvents":[{"id":"…","eventData":"…","eventDataChecksum":"…"},…]}
//
// eventDataChecksum is left out when empty.
func appendPutBody(dst []byte, events []AuditEvent) []byte {
	// Room for the body with some escaping, and for the in-place reserve jsonx.AppendString
	// takes on the largest event.
	n, largest := 20, 0
	for i := range events {
		e := &events[i]
		n += 48 + len(e.ID) + len(e.EventData) + len(e.EventData)/6 + len(e.EventDataChecksum)
		largest = max(largest, len(e.EventData))
	}
	n += largest + 2
	if cap(dst)-len(dst) < n {
		// A quarter more, so that a reused buffer fits the next batch, a little larger.
		nb := make([]byte, len(dst), len(dst)+n+n/4)
		copy(nb, dst)
		dst = nb
	}
	dst = append(dst, `{"auditEvents":[`...)
	for i := range events {
		e := &events[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"id":`...)
		dst = jsonx.AppendString(dst, e.ID)
		dst = append(dst, `,"eventData":`...)
		dst = jsonx.AppendString(dst, e.EventData)
		if e.EventDataChecksum != "" {
			dst = append(dst, `,"eventDataChecksum":`...)
			dst = jsonx.AppendString(dst, e.EventDataChecksum)
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}
