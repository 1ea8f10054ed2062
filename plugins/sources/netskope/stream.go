package netskope

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
)

// This file reads a page as its body arrives: the records of each chunk of elements are built
// and handed on (streamChunk) before the rest of the body is read, so that the process holds
// the chunks the pipeline holds rather than the whole page (a page of policy alerts is about
// 47 MB). The next chunk is read once Publish took the last (backpressure reaches the
// server's connection).
//
// What identifies the page while it is read cannot wait for its end: a page's progress (see
// pageacks.go) names the page by its part fingerprint (partFingerprint: the count and CRC-32C
// of its first chunk's elements) and the elements delivered by their sum (setSum: each
// element's bytes and place). A page answered again is skipped where it was delivered only
// when both match, so that the elements skipped are byte for byte those acknowledged, in the
// same places. The page's fingerprint (fingerprint: count, size, CRC-32C of the result array
// and timestamp_hwm) is computed as the bytes pass, for the position saved once the page is
// acknowledged.

// partPrefix marks the part fingerprints of partFingerprint; a saved part without it is a
// whole page's fingerprint (positions saved by earlier versions), compared with fingerprint.
const partPrefix = "s:"

// partFingerprint names a page by its first elements (at most a chunk's): their count and the
// CRC-32C of their bytes as received.
func partFingerprint(elems []elem) string {
	var crc uint32
	for i := range elems {
		crc = crc32.Update(crc, castagnoli, elems[i].raw)
	}
	return fmt.Sprintf("%s%d:%08x", partPrefix, len(elems), crc)
}

// partLen is how many elements a part fingerprint covers, or -1 when part is not one.
func partLen(part string) int {
	if len(part) <= len(partPrefix) || part[:len(partPrefix)] != partPrefix {
		return -1
	}
	rest := part[len(partPrefix):]
	for i := range len(rest) {
		if rest[i] == ':' {
			if n, err := strconv.Atoi(rest[:i]); err == nil && n > 0 {
				return n
			}
			break
		}
	}
	return -1
}

// elemSum identifies an element by its bytes as received (CRC-32C and CRC-32, both computed by
// the processor) and its place in the page. The elemSums of a set of elements add up to its
// setSum, whatever the order they were delivered in.
func elemSum(pos int, raw []byte) uint64 {
	h := uint64(crc32.Checksum(raw, castagnoli))<<32 | uint64(crc32.ChecksumIEEE(raw))
	return mix64(h ^ uint64(pos+1)*0x9e3779b97f4a7c15)
}

// mix64 is SplitMix64's finalizer: every bit of x moves about half of the result's.
func mix64(x uint64) uint64 {
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// elemSums returns the elemSum of each of elems.
func elemSums(elems []elem) []uint64 {
	out := make([]uint64, len(elems))
	for i := range elems {
		out[i] = elemSum(elems[i].pos, elems[i].raw)
	}
	return out
}

// setSum is the sum of the elemSums of the elements of a in s; ok is false when s holds an
// element a does not have.
func setSum(a *answer, s spans) (sum uint64, ok bool) {
	for _, r := range s {
		if r[0] < 0 || r[1] > len(a.elems) {
			return 0, false
		}
		for i := r[0]; i < r[1]; i++ {
			sum += elemSum(i, a.elems[i].raw)
		}
	}
	return sum, true
}

// encodeSum writes a set's sum for a position ("" for an empty set).
func encodeSum(sum uint64, nonEmpty bool) string {
	if !nonEmpty {
		return ""
	}
	return fmt.Sprintf("%016x", sum)
}

// decodeSum reads what encodeSum wrote; ok is false for anything else.
func decodeSum(s string) (uint64, bool) {
	if len(s) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 16, 64)
	return n, err == nil
}

// streamChunk is a chunk of a page read as it streams: its elements (pos counted from the
// page's first) in an answer of their own, whose body is theirs alone, with room for events
// to be spliced in place (builder.spare), and their elemSums.
type streamChunk struct {
	a    *answer
	from int // the place of its first element in the page
	to   int // after its last
	sums []uint64
}

// errNotStreamed is returned by readStream when the answer is not a page with "ok" true
// before its result array: whole holds the body, to be read as a whole answer.
var errNotStreamed = errors.New("not a page to stream")

// streamed is what readStream read of an answer besides the chunks.
type streamed struct {
	env   *answer // the members other than result (ok, wait_time, timestamp_hwm)
	elems int     // the result array's elements
	size  int     // the result array's bytes
	crc   uint32  // CRC-32C of the result array
	body  int     // the answer's bytes
}

// fingerprint is the page's fingerprint (see fingerprint in client.go), from what was read.
func (st *streamed) fingerprint() string {
	if st.elems == 0 {
		return ""
	}
	return fingerprintOf(st.elems, st.size, st.crc, st.env.hwm)
}

// pageReader reads answers as they stream. Its buffer is kept from one page to the next.
type pageReader struct {
	buf []byte
	// prefixMax bounds the members before result: past it the answer is read whole.
	prefixMax int
}

// readBufInitial is the first size of a pageReader's buffer; it grows to hold a chunk.
const readBufInitial = 256 << 10

// readStream reads the answer in r. When it is an object whose "ok" is true before its
// "result" array, the elements are read as they come, and each is called with every chunk
// of n elements (the last may be shorter) once it is read, before the next is; b gives the
// room of each chunk (spare, spanRoom). An error of each ends the read and is returned. It
// returns errNotStreamed, with the whole body (at most limit bytes), for any other answer.
func (pr *pageReader) readStream(r io.Reader, n int, limit int64, b *builder, each func(c *streamChunk) error) (st *streamed, whole []byte, err error) {
	if cap(pr.buf) < readBufInitial {
		pr.buf = make([]byte, 0, readBufInitial)
	}
	rd := &streamBuf{r: r, b: pr.buf[:0], limit: limit}
	defer func() { pr.buf = rd.b[:0] }()
	n = max(n, 1)
	prefixMax := pr.prefixMax
	if prefixMax <= 0 {
		prefixMax = 64 << 10
	}

	// The members before result, scanned again as bytes arrive (they are a few dozen bytes).
	var env *answer
	var at int // where the result array's '[' is
	for {
		env, at = scanPrefix(rd.b)
		if env != nil || at < 0 || len(rd.b) > prefixMax || rd.eof {
			break
		}
		if err := rd.more(); err != nil {
			return nil, nil, err
		}
	}
	if env == nil || !env.hasOK || !env.ok {
		if err := rd.rest(); err != nil {
			return nil, nil, err
		}
		return nil, rd.b, errNotStreamed
	}

	st = &streamed{}
	crc := uint32(0)
	sumFrom := at // the result array's bytes from here are not in crc yet
	// discard drops the bytes before keep from the buffer, adding those of the array to crc.
	discard := func(keep int) {
		crc = crc32.Update(crc, castagnoli, rd.b[sumFrom:keep])
		st.size += keep - sumFrom
		rd.drop(keep)
		sumFrom = 0
	}
	i := at + 1
	chunkStart := i // the first byte of the chunk's first element
	var ends []int  // each element of the chunk: where it starts and ends, in pairs
	pos := 0
	flush := func() error {
		if len(ends) == 0 {
			return nil
		}
		c := pr.chunk(rd.b[chunkStart:ends[len(ends)-1]], ends, chunkStart, pos-len(ends)/2, b)
		ends = ends[:0]
		if c.err != nil {
			return c.err
		}
		return each(c.c)
	}
	ws := func() error {
		for {
			for i < len(rd.b) {
				if c := rd.b[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
					return nil
				}
				i++
			}
			if rd.eof {
				return io.ErrUnexpectedEOF
			}
			if err := rd.more(); err != nil {
				return err
			}
		}
	}
	if err := ws(); err != nil {
		return nil, nil, err
	}
	if rd.b[i] == ']' {
		i++
	} else {
		for {
			start := i
			end := -1
			for {
				s := jsonx.Scanner{B: rd.b, I: start}
				if err := s.SkipUnchecked(); err == nil && s.I < len(rd.b) {
					end = s.I
					break
				}
				if rd.eof {
					return nil, nil, fmt.Errorf("the result array ends before element %d does: %w", pos+1, io.ErrUnexpectedEOF)
				}
				// Make room before reading more: the bytes before the chunk are done with.
				if chunkStart > len(rd.b)/2 {
					discard(chunkStart)
					for k := range ends {
						ends[k] -= chunkStart
					}
					start -= chunkStart
					i -= chunkStart
					chunkStart = 0
				}
				if err := rd.more(); err != nil {
					return nil, nil, err
				}
			}
			ends = append(ends, start, end)
			pos++
			i = end
			if err := ws(); err != nil {
				return nil, nil, err
			}
			closing := rd.b[i] == ']'
			if !closing && rd.b[i] != ',' {
				return nil, nil, fmt.Errorf("expected ',' or ']' after element %d of the result array", pos)
			}
			i++
			if len(ends)/2 == n || closing {
				if err := flush(); err != nil {
					return nil, nil, err
				}
				chunkStart = i
			}
			if closing {
				break
			}
			if err := ws(); err != nil {
				return nil, nil, err
			}
		}
	}
	st.elems = pos
	// The array's bytes, to its closing bracket, then the members after it.
	discard(i)
	if err := rd.rest(); err != nil {
		return nil, nil, err
	}
	st.crc = crc
	tail, err := parse(append([]byte(`{"result":[]`), rd.b...), 0)
	if err != nil {
		return nil, nil, fmt.Errorf("after the result array: %w", err)
	}
	st.env = env
	if tail.hasWait {
		env.waitTime, env.hasWait = tail.waitTime, true
	}
	if tail.hasHWM {
		env.hwm, env.hasHWM = tail.hwm, true
	}
	if tail.errMsg != "" && env.errMsg == "" {
		env.errMsg = tail.errMsg
	}
	if tail.hasOK && !tail.ok {
		return nil, nil, errors.New(`"ok" is repeated after the result array, false`)
	}
	st.body = rd.read
	return st, nil, nil
}

// scanPrefix scans the members of the answer in b that come before a "result" array: it
// returns them, and the offset of the array's '[', once b holds them all; nil and 0 while b
// may be cut short; nil and -1 when the answer has no result array there (it is then read
// whole).
func scanPrefix(b []byte) (*answer, int) {
	s := &scanner{Scanner: jsonx.Scanner{B: b}}
	s.WS()
	if s.I >= len(b) {
		return nil, 0
	}
	if b[s.I] != '{' {
		return nil, -1
	}
	s.I++
	a := &answer{}
	for {
		s.WS()
		if s.I >= len(b) {
			return nil, 0
		}
		if b[s.I] != '"' {
			return nil, -1
		}
		ks, ke, esc, err := s.Key()
		if err != nil {
			return nil, 0 // cut short, or broken: more bytes decide
		}
		s.WS()
		if s.I >= len(b) {
			return nil, 0
		}
		if !esc && string(b[ks:ke]) == "result" {
			if b[s.I] != '[' {
				return nil, -1
			}
			return a, s.I
		}
		if esc {
			return nil, -1 // unusual: the whole answer's reader decides
		}
		vs := s.I
		if err := s.Skip(); err != nil || s.I >= len(b) {
			return nil, 0
		}
		v := b[vs:s.I]
		switch string(b[ks:ke]) {
		case "ok":
			a.hasOK = true
			a.ok = string(v) == "1" || string(v) == "true" || string(v) == "1.0"
		case "wait_time":
			if f, err := strconv.ParseFloat(string(v), 64); err == nil {
				a.waitTime, a.hasWait = f, true
			}
		case "timestamp_hwm":
			if n, ok := epochOf(v); ok {
				a.hwm, a.hasHWM = n, true
			}
		case "error", "message", "Message":
			if a.errMsg == "" {
				a.errMsg = textOf(v)
			}
		}
		s.WS()
		if s.I >= len(b) {
			return nil, 0
		}
		if b[s.I] != ',' {
			return nil, -1
		}
		s.I++
	}
}

// builtChunk is a chunk read, or why the page cannot be read on.
type builtChunk struct {
	c   *streamChunk
	err error
}

// chunk copies the elements of a chunk (raw: their bytes, from the first's first to the last's
// last; ends: each one's start and end in the buffer raw begins at base of) into a body of
// their own with room for b, and checks each as the whole answer's reader does (scanner.result).
func (pr *pageReader) chunk(raw []byte, ends []int, base, first int, b *builder) builtChunk {
	count := len(ends) / 2
	room := 0
	if b.ep.kind == "events" {
		room = count * (len(b.field()) + 1)
	}
	body := make([]byte, len(raw), len(raw)+room)
	copy(body, raw)
	s := &scanner{Scanner: jsonx.Scanner{B: body}, spans: make([]event.Span, 0, b.spanRoom(len(body)))}
	a := &answer{elems: make([]elem, 0, count), body: body, result: body}
	for k := 0; k < len(ends); k += 2 {
		start, end := ends[k]-base, ends[k+1]-base
		s.I, s.Depth = start, 0
		s.B = body[:end]
		e := elem{pos: first + k/2}
		if body[start] == '{' {
			if err := s.record(&e.rec); err != nil {
				e.err = fmt.Errorf("invalid JSON: %w", err)
			}
		} else {
			if err := s.Skip(); err != nil {
				e.err = fmt.Errorf("invalid JSON: %w", err)
			} else {
				e.err = errors.New("not a JSON object")
			}
		}
		if e.err == nil || !isSyntaxError(e.err) {
			s.WS()
			if s.I != end {
				return builtChunk{err: fmt.Errorf("element %d of the result array: expected ',' or ']' after it", e.pos+1)}
			}
		}
		e.raw = trimSpace(body[start:end])
		a.elems = append(a.elems, e)
	}
	a.spans = s.spans
	return builtChunk{c: &streamChunk{a: a, from: first, to: first + count, sums: elemSums(a.elems)}}
}

// streamBuf is the bytes of an answer read so far and not dropped.
type streamBuf struct {
	r     io.Reader
	b     []byte
	eof   bool
	read  int // bytes read in all
	limit int64
}

// more reads at least one more byte (or reaches the end), growing the buffer when it is full.
func (sb *streamBuf) more() error {
	if sb.eof {
		return io.ErrUnexpectedEOF
	}
	if len(sb.b) == cap(sb.b) {
		nb := make([]byte, len(sb.b), 2*cap(sb.b))
		copy(nb, sb.b)
		sb.b = nb
	}
	for {
		n, err := sb.r.Read(sb.b[len(sb.b):cap(sb.b)])
		sb.b = sb.b[:len(sb.b)+n]
		sb.read += n
		if int64(sb.read) > sb.limit {
			return fmt.Errorf("the answer is more than the %d bytes accepted", sb.limit)
		}
		if err == io.EOF {
			sb.eof = true
			return nil
		}
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
}

// rest reads to the end of the answer.
func (sb *streamBuf) rest() error {
	for !sb.eof {
		if err := sb.more(); err != nil {
			return err
		}
	}
	return nil
}

// drop removes the first n bytes.
func (sb *streamBuf) drop(n int) {
	m := copy(sb.b, sb.b[n:])
	sb.b = sb.b[:m]
}
