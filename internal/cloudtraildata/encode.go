package cloudtraildata

import (
	"bytes"
	"encoding/binary"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// maxPooledBody is the largest buffer kept for reuse; PutAuditEvents bodies are at most
// 1 MiB, with escaping slack.
const maxPooledBody = 4 << 20

// sharedBuf is a request body shared by the call that built it and the readers the HTTP
// transport gets (the body, and GetBody's copies for a retried connection). It goes back to
// the pool when the last of them is done: a transport may still be sending a body after the
// response arrived, until it closes the body.
type sharedBuf struct {
	b    []byte
	refs atomic.Int32
}

var bodyPool = sync.Pool{New: func() any { return &sharedBuf{b: make([]byte, 0, 64<<10)} }}

func getBuf() *sharedBuf {
	s := bodyPool.Get().(*sharedBuf)
	s.b = s.b[:0]
	s.refs.Store(1)
	return s
}

func (s *sharedBuf) release() {
	if s.refs.Add(-1) == 0 && cap(s.b) <= maxPooledBody {
		bodyPool.Put(s)
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
	// Room for the body with some escaping, and for the in-place reserve appendJSONString
	// takes (twice the string) on the largest event.
	n, largest := 20, 0
	for i := range events {
		e := &events[i]
		n += 48 + len(e.ID) + len(e.EventData) + len(e.EventData)/6 + len(e.EventDataChecksum)
		largest = max(largest, len(e.EventData))
	}
	n += largest + 2
	if cap(dst)-len(dst) < n {
		nb := make([]byte, len(dst), len(dst)+n)
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
		dst = appendJSONString(dst, e.ID)
		dst = append(dst, `,"eventData":`...)
		dst = appendJSONString(dst, e.EventData)
		if e.EventDataChecksum != "" {
			dst = append(dst, `,"eventDataChecksum":`...)
			dst = appendJSONString(dst, e.EventDataChecksum)
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as encoding/json
// does (the event's checksum, computed on the original bytes, then fails that event alone
// with InvalidChecksum instead of the whole call with a SerializationException).
//
// Eight bytes are checked at a time for anything to escape (a control character, a quote, a
// backslash, a byte of a multi-byte sequence) and copied with one store when clean. The output
// is written in place into capacity reserved up front: every byte takes at most two bytes
// except \u00XX and \ufffd, which reserve more when they come.
func appendJSONString(dst []byte, s string) []byte {
	n := len(dst)
	dst = slices.Grow(dst, 2*len(s)+2)
	b := dst[:cap(dst)]
	b[n] = '"'
	n++
	i := 0
	for i < len(s) {
		end := len(s)
		if i+8 <= len(s) {
			w := binary.LittleEndian.Uint64(stringBytes8(s, i))
			ctl := (w - 0x20*lsb) &^ w
			q := w ^ ('"' * lsb)
			bs := w ^ ('\\' * lsb)
			if (ctl|((q-lsb)&^q)|((bs-lsb)&^bs)|w)&msb == 0 {
				binary.LittleEndian.PutUint64(b[n:n+8], w)
				n += 8
				i += 8
				continue
			}
			end = i + 8
		}
		// Byte by byte up to the end of this word (a multi-byte rune may run past it).
		for i < end {
			c := s[i]
			switch {
			case c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\':
				b[n] = c
				n++
				i++
			case c < utf8.RuneSelf:
				if cap(b)-n < 2*(len(s)-i)+8 {
					b = slices.Grow(b[:n], 2*(len(s)-i)+8)
					b = b[:cap(b)]
				}
				switch c {
				case '"', '\\':
					b[n], b[n+1] = '\\', c
					n += 2
				case '\n':
					b[n], b[n+1] = '\\', 'n'
					n += 2
				case '\r':
					b[n], b[n+1] = '\\', 'r'
					n += 2
				case '\t':
					b[n], b[n+1] = '\\', 't'
					n += 2
				default:
					n += copy(b[n:], `\u00`)
					b[n], b[n+1] = hexDigits[c>>4], hexDigits[c&0xf]
					n += 2
				}
				i++
			default:
				r, size := utf8.DecodeRuneInString(s[i:])
				if r == utf8.RuneError && size == 1 {
					if cap(b)-n < 2*(len(s)-i)+8 {
						b = slices.Grow(b[:n], 2*(len(s)-i)+8)
						b = b[:cap(b)]
					}
					n += copy(b[n:], `\ufffd`)
					i++
					continue
				}
				n += copy(b[n:], s[i:i+size])
				i += size
			}
		}
	}
	b[n] = '"'
	return b[:n+1]
}

// stringBytes8 returns the eight bytes of s at i as a slice without copying them to the heap
// (the compiler keeps the conversion's buffer on the stack and merges the loads).
func stringBytes8(s string, i int) []byte {
	var a [8]byte
	copy(a[:], s[i:i+8])
	return a[:]
}
