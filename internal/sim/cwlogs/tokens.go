package cwlogs

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"sync/atomic"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// Pagination tokens are opaque to clients: URL-safe base64 of a kind byte, the issue time
// (for the 24 h expiry), the position, and a checksum. A position is a key (timestamp,
// sequence) or a name, never an index, so a token stays valid while events are added.

const (
	tokFilter = 'F'
	tokGroups = 'G'
	tokStream = 'S'
)

var tokenNonce atomic.Uint32

func (s *Service) sealToken(kind byte, payload []byte) string {
	b := make([]byte, 0, 1+8+4+len(payload)+4)
	b = append(b, kind)
	b = binary.BigEndian.AppendUint64(b, uint64(s.nowMs()))
	b = binary.BigEndian.AppendUint32(b, tokenNonce.Add(1)) // no two tokens are equal
	b = append(b, payload...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b)^0x5ca1ab1e)
	return base64.RawURLEncoding.EncodeToString(b)
}

// openToken checks a token's kind, checksum and age, and returns its payload.
func (s *Service) openToken(kind byte, tok string) ([]byte, *awssim.Error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 1+8+4+4 || b[0] != kind {
		return nil, errTokenInvalid()
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body)^0x5ca1ab1e != sum {
		return nil, errTokenInvalid()
	}
	issued := int64(binary.BigEndian.Uint64(body[1:9]))
	if s.nowMs()-issued > s.tokenTTL.Milliseconds() {
		return nil, errTokenExpired()
	}
	return body[13:], nil
}

// filterCursor is where a FilterLogEvents scan stopped.
type filterCursor struct {
	desc    bool // scanning newest first
	started bool // false: nothing scanned yet, start at the time range's edge
	at      key  // the last key scanned
}

func (s *Service) encodeFilterToken(c filterCursor) string {
	p := make([]byte, 0, 17)
	var flags byte
	if c.desc {
		flags |= 1
	}
	if c.started {
		flags |= 2
	}
	p = append(p, flags)
	p = binary.BigEndian.AppendUint64(p, uint64(c.at.ts))
	p = binary.BigEndian.AppendUint64(p, c.at.seq)
	return s.sealToken(tokFilter, p)
}

func (s *Service) decodeFilterToken(tok string) (filterCursor, *awssim.Error) {
	p, e := s.openToken(tokFilter, tok)
	if e != nil {
		return filterCursor{}, e
	}
	if len(p) != 17 {
		return filterCursor{}, errTokenInvalid()
	}
	return filterCursor{
		desc:    p[0]&1 != 0,
		started: p[0]&2 != 0,
		at:      key{int64(binary.BigEndian.Uint64(p[1:9])), binary.BigEndian.Uint64(p[9:17])},
	}, nil
}

func (s *Service) encodeNameToken(name string) string {
	return s.sealToken(tokGroups, []byte(name))
}

func (s *Service) decodeNameToken(tok string) (string, *awssim.Error) {
	p, e := s.openToken(tokGroups, tok)
	if e != nil {
		return "", e
	}
	return string(p), nil
}

// streamCursor is the last stream a DescribeLogStreams page returned.
type streamCursor struct {
	Name string
	Last int64 // its lastEventTimestamp, for orderBy LastEventTime
}

func (s *Service) encodeStreamToken(c streamCursor) string {
	p := binary.BigEndian.AppendUint64(nil, uint64(c.Last))
	return s.sealToken(tokStream, append(p, c.Name...))
}

func (s *Service) decodeStreamToken(tok string) (streamCursor, *awssim.Error) {
	p, e := s.openToken(tokStream, tok)
	if e != nil {
		return streamCursor{}, e
	}
	if len(p) < 8 {
		return streamCursor{}, errTokenInvalid()
	}
	return streamCursor{Last: int64(binary.BigEndian.Uint64(p[:8])), Name: string(p[8:])}, nil
}

// GetLogEvents tokens look like the service's: "f/<56 digits>/s" and "b/<56 digits>/s", the
// digits holding the key (as an event id does) and the second the token was issued.

func (s *Service) encodeGetToken(dir byte, k key) string {
	b := make([]byte, 0, 64)
	b = append(b, dir, '/')
	b = appendDecimal192(b, uint64(k.ts)<<16, uint64(s.nowMs()/1000), k.seq, 56)
	return string(append(b, "/s"...))
}

func (s *Service) decodeGetToken(tok string) (dir byte, k key, e *awssim.Error) {
	if len(tok) < 3 || (tok[0] != 'f' && tok[0] != 'b') || tok[1] != '/' {
		return 0, key{}, errTokenInvalid()
	}
	digits := strings.TrimSuffix(tok[2:], "/s")
	hi, mid, lo, ok := parseDecimal192(digits)
	if !ok {
		return 0, key{}, errTokenInvalid()
	}
	if s.nowMs()/1000-int64(mid) > int64(s.tokenTTL.Seconds()) {
		return 0, key{}, errTokenExpired()
	}
	return tok[0], key{int64(hi >> 16), lo}, nil
}
