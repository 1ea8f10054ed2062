package cloudwatch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The FilterLogEvents response decoder. The SDK's own reads the body into a buffer it grows
// by doubling (and pools only up to 64 kB), then decodes it through its generic shape
// deserializer, with an allocation per pointer and per message: on CloudTrail pages (up to
// 1 MB at AWS, about 13 MB in the load run) about half of the source's CPU in a profile.
// pageDecoder reads the body once into a buffer sized from Content-Length and decodes the
// three members of the answer in one pass, every other member skipped. The messages are
// unquoted in place in that buffer (unquoting never lengthens a string, but for the rare one
// with an escape and invalid UTF-8), which the answer keeps as their one allocation; the other
// strings share another. It accepts and refuses what the SDK
// (aws-sdk-go-v2/service/cloudwatchlogs v1.92, smithy-go v1.28, awsJson 1.1) accepts and
// refuses, and decodes the same values (FuzzFilterLogEventsDecode holds the two side by side):
//
//   - the body is one JSON value, an object (an empty body is an empty answer); what follows
//     the object is not read;
//   - members it does not know and null members are skipped; of a member given twice the last
//     wins; a null element of events or searchedLogStreams is an element with no members;
//   - a string with no escape keeps its bytes as they are (invalid UTF-8 included); a string
//     with an escape is unquoted as encoding/json does (every invalid UTF-8 byte and every
//     lone surrogate becomes U+FFFD, surrogate pairs are joined);
//   - timestamps are JSON integers (no fraction, no exponent) within int64; a string where a
//     number belongs, or a number where a string or bool belongs, is an error;
//   - nesting deeper than 10,000 is an error.

// maxDepth is the deepest nesting accepted, the SDK's (and encoding/json's).
const maxDepth = 10_000

// pageDecoder decodes FilterLogEvents answers for one client; it keeps its scratch between
// pages.
type pageDecoder struct {
	pool sync.Pool // *decodeScratch
}

// decodeScratch is what one decoding uses and gives back.
type decodeScratch struct {
	// strs holds the strings of the page but the messages (ids, stream names, the token, a
	// message that cannot be unquoted in place), unquoted, end to end: apart from the
	// messages, so that the ids a partition keeps for its overlap do not keep the page. Not
	// kept: the answer holds it.
	strs    []byte
	events  []rawEvent
	streams []rawStream
}

// span is a string in decodeScratch.strs or in the body.
type span struct{ off, n int }

// The members of an event that were present (not absent, not null).
const (
	hasID uint8 = 1 << iota
	hasIngestion
	hasStream
	hasMessage
	hasTimestamp
)

type rawEvent struct {
	id, stream, msg      span
	ingestion, timestamp int64
	has                  uint8
	msgInStrs            bool // msg is in strs, not in the body
}

type rawStream struct {
	name                 span
	complete             bool
	hasName, hasComplete bool
}

func (pd *pageDecoder) get() *decodeScratch {
	if s, ok := pd.pool.Get().(*decodeScratch); ok {
		return s
	}
	return &decodeScratch{}
}

func (pd *pageDecoder) put(s *decodeScratch) {
	s.events, s.streams = s.events[:0], s.streams[:0]
	pd.pool.Put(s)
}

// maxPresize is the largest buffer readBody makes from a Content-Length before reading: a
// longer answer grows it as it comes. (AWS caps a page at 1 MB; cloudsim's pages of 10,000
// CloudTrail records are about 13 MB.)
const maxPresize = 32 << 20

// readBody reads r to its end into a buffer sized from length when the server gave it.
func readBody(r io.Reader, length int64) ([]byte, error) {
	size := int64(64 << 10)
	if length > 0 {
		size = min(length+1, maxPresize) // +1: the read that meets EOF needs room
	}
	buf := make([]byte, 0, size)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// decode decodes one FilterLogEvents answer. The answer keeps body, whose bytes it changes.
func (pd *pageDecoder) decode(body []byte) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	s := pd.get()
	defer pd.put(s)
	return s.decode(body)
}

func (s *decodeScratch) decode(body []byte) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	out := &cloudwatchlogs.FilterLogEventsOutput{}
	if len(body) == 0 {
		return out, nil
	}
	s.strs = make([]byte, 0, max(len(body)/16, 256)) // ids and names: about 1/16 of a CloudTrail page
	defer func() { s.strs = nil }()
	d := decoder{buf: body, s: s}
	var r result
	if err := d.response(&r); err != nil {
		return nil, err
	}
	s.build(out, &r, body[:d.w])
	return out, nil
}

// result is where the members of the answer are, until they are built.
type result struct {
	events, streams, token bool // present (not absent, not null)
	nextToken              span
}

// build makes the answer from the scratch and the messages unquoted at the start of the body:
// an allocation each for the strings but the messages (the messages keep the body, or a copy
// of them when they fill less than two thirds of it), for the events, and for the string and
// integer values their pointers point to.
func (s *decodeScratch) build(out *cloudwatchlogs.FilterLogEventsOutput, r *result, body []byte) {
	arena, msgs := arenaString(s.strs), arenaString(body)
	str := func(sp span) string { return arena[sp.off : sp.off+sp.n] }
	nstr, nint := 0, 0 // the pointers to make
	if r.token {
		nstr++
	}
	if r.events {
		for i := range s.events {
			e := &s.events[i]
			nstr += popcount(e.has & (hasID | hasStream | hasMessage))
			nint += popcount(e.has & (hasIngestion | hasTimestamp))
		}
	}
	if r.streams {
		for i := range s.streams {
			if s.streams[i].hasName {
				nstr++
			}
		}
	}
	strs := make([]string, nstr)
	ints := make([]int64, nint)
	newStr := func(sp span) *string {
		p := &strs[0]
		strs = strs[1:]
		*p = str(sp)
		return p
	}
	newInt := func(v int64) *int64 {
		p := &ints[0]
		ints = ints[1:]
		*p = v
		return p
	}
	if r.token {
		out.NextToken = newStr(r.nextToken)
	}
	if r.events {
		out.Events = make([]types.FilteredLogEvent, len(s.events))
		for i := range s.events {
			e, o := &s.events[i], &out.Events[i]
			if e.has&hasID != 0 {
				o.EventId = newStr(e.id)
			}
			if e.has&hasIngestion != 0 {
				o.IngestionTime = newInt(e.ingestion)
			}
			if e.has&hasStream != 0 {
				o.LogStreamName = newStr(e.stream)
			}
			if e.has&hasMessage != 0 {
				o.Message = &strs[0]
				strs = strs[1:]
				if e.msgInStrs {
					*o.Message = str(e.msg)
				} else {
					*o.Message = msgs[e.msg.off : e.msg.off+e.msg.n]
				}
			}
			if e.has&hasTimestamp != 0 {
				o.Timestamp = newInt(e.timestamp)
			}
		}
	}
	if r.streams {
		out.SearchedLogStreams = make([]types.SearchedLogStream, len(s.streams))
		var bools []bool
		for i := range s.streams {
			if s.streams[i].hasComplete {
				if bools == nil {
					bools = make([]bool, len(s.streams))
				}
			}
		}
		for i := range s.streams {
			st, o := &s.streams[i], &out.SearchedLogStreams[i]
			if st.hasName {
				o.LogStreamName = newStr(st.name)
			}
			if st.hasComplete {
				bools[i] = st.complete
				o.SearchedCompletely = &bools[i]
			}
		}
	}
}

// arenaString is b as a string, without copying it unless more than a third of it would be
// unused capacity. (The messages of a CloudTrail page fill about four fifths of a buffer of
// the body's size.)
func arenaString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(b)-len(b) > len(b)/2 {
		b = append([]byte(nil), b...)
	}
	return unsafe.String(&b[0], len(b))
}

func popcount(b uint8) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

// decoder walks one body.
type decoder struct {
	buf   []byte
	i     int // where it reads
	w     int // where the next message is unquoted to (w <= i)
	depth int
	s     *decodeScratch
	stack []bool // skip's open containers: true for an object
}

var errEnd = errors.New("unexpected end of JSON input")

func (d *decoder) errAt(what string) error {
	if d.i >= len(d.buf) {
		return errEnd
	}
	return fmt.Errorf("%s at offset %d", what, d.i)
}

// ws skips whitespace and returns the next byte, or 0 at the end.
func (d *decoder) ws() byte {
	for d.i < len(d.buf) {
		switch c := d.buf[d.i]; c {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return c
		}
	}
	return 0
}

// open consumes the opening byte of a container and counts its depth.
func (d *decoder) open() error {
	d.i++
	d.depth++
	if d.depth > maxDepth {
		return errors.New("exceeded max nesting depth")
	}
	return nil
}

// members walks the members of the object at d.i (its '{' not yet consumed), calling member
// for each key with d.i at its value, which member must consume.
func (d *decoder) members(member func(key []byte) error) error {
	if err := d.open(); err != nil {
		return err
	}
	if d.ws() == '}' {
		d.i++
		d.depth--
		return nil
	}
	for {
		if d.ws() != '"' {
			return d.errAt("expected a member name")
		}
		key, err := d.key()
		if err != nil {
			return err
		}
		if d.ws() != ':' {
			return d.errAt("expected ':'")
		}
		d.i++
		d.ws()
		if err := member(key); err != nil {
			return err
		}
		switch d.ws() {
		case ',':
			d.i++
		case '}':
			d.i++
			d.depth--
			return nil
		default:
			return d.errAt("expected ',' or '}'")
		}
	}
}

// elements walks the array at d.i (its '[' not yet consumed), calling elem with d.i at each
// element, which elem must consume.
func (d *decoder) elements(elem func() error) error {
	if err := d.open(); err != nil {
		return err
	}
	if d.ws() == ']' {
		d.i++
		d.depth--
		return nil
	}
	for {
		d.ws()
		if err := elem(); err != nil {
			return err
		}
		switch d.ws() {
		case ',':
			d.i++
		case ']':
			d.i++
			d.depth--
			return nil
		default:
			return d.errAt("expected ',' or ']'")
		}
	}
}

// key reads a member name and returns it unquoted (in the scratch's string buffer, which it
// leaves as it found it).
func (d *decoder) key() ([]byte, error) {
	mark := len(d.s.strs)
	sp, err := d.str(&d.s.strs)
	if err != nil {
		return nil, err
	}
	k := d.s.strs[sp.off : sp.off+sp.n]
	d.s.strs = d.s.strs[:mark]
	return k, nil
}

// isNull consumes a null at d.i and reports whether there was one.
func (d *decoder) isNull() (bool, error) {
	if d.i < len(d.buf) && d.buf[d.i] == 'n' {
		return true, d.literal("null")
	}
	return false, nil
}

func (d *decoder) literal(lit string) error {
	if len(d.buf)-d.i < len(lit) || string(d.buf[d.i:d.i+len(lit)]) != lit {
		return d.errAt("invalid literal")
	}
	d.i += len(lit)
	return nil
}

func (d *decoder) response(r *result) error {
	if d.ws() != '{' {
		return d.errAt("expected '{'")
	}
	return d.members(func(key []byte) error {
		if null, err := d.isNull(); null || err != nil {
			return err
		}
		switch string(key) {
		case "events":
			r.events = true
			d.s.events = d.s.events[:0]
			return d.events()
		case "nextToken":
			sp, err := d.stringValue(&d.s.strs)
			if err != nil {
				return fmt.Errorf("nextToken: %w", err)
			}
			r.token, r.nextToken = true, sp
			return nil
		case "searchedLogStreams":
			r.streams = true
			d.s.streams = d.s.streams[:0]
			return d.searchedStreams()
		}
		return d.skip()
	})
}

func (d *decoder) events() error {
	if d.i >= len(d.buf) || d.buf[d.i] != '[' {
		return d.errAt("events: expected '['")
	}
	var prevStream span
	havePrev := false
	return d.elements(func() error {
		d.s.events = append(d.s.events, rawEvent{})
		e := &d.s.events[len(d.s.events)-1]
		if null, err := d.isNull(); null || err != nil {
			return err
		}
		if d.i >= len(d.buf) || d.buf[d.i] != '{' {
			return d.errAt("events: expected '{'")
		}
		err := d.members(func(key []byte) error {
			if null, err := d.isNull(); null || err != nil {
				return err
			}
			var err error
			switch string(key) {
			case "eventId":
				e.id, err = d.stringValue(&d.s.strs)
				e.has |= hasID
			case "ingestionTime":
				e.ingestion, err = d.int64Value()
				e.has |= hasIngestion
			case "logStreamName":
				mark := len(d.s.strs)
				e.stream, err = d.stringValue(&d.s.strs)
				e.has |= hasStream
				// The events of a page mostly come from a few streams: a name like the
				// previous one shares its bytes.
				if err == nil && havePrev && string(d.s.strs[e.stream.off:e.stream.off+e.stream.n]) == string(d.s.strs[prevStream.off:prevStream.off+prevStream.n]) {
					d.s.strs = d.s.strs[:mark]
					e.stream = prevStream
				}
				prevStream, havePrev = e.stream, true
			case "message":
				e.msg, e.msgInStrs, err = d.message()
				e.has |= hasMessage
			case "timestamp":
				e.timestamp, err = d.int64Value()
				e.has |= hasTimestamp
			default:
				return d.skip()
			}
			if err != nil {
				return fmt.Errorf("events[%d].%s: %w", len(d.s.events)-1, key, err)
			}
			return nil
		})
		return err
	})
}

func (d *decoder) searchedStreams() error {
	if d.i >= len(d.buf) || d.buf[d.i] != '[' {
		return d.errAt("searchedLogStreams: expected '['")
	}
	return d.elements(func() error {
		d.s.streams = append(d.s.streams, rawStream{})
		st := &d.s.streams[len(d.s.streams)-1]
		if null, err := d.isNull(); null || err != nil {
			return err
		}
		if d.i >= len(d.buf) || d.buf[d.i] != '{' {
			return d.errAt("searchedLogStreams: expected '{'")
		}
		return d.members(func(key []byte) error {
			if null, err := d.isNull(); null || err != nil {
				return err
			}
			var err error
			switch string(key) {
			case "logStreamName":
				st.name, err = d.stringValue(&d.s.strs)
				st.hasName = true
			case "searchedCompletely":
				st.complete, err = d.boolValue()
				st.hasComplete = true
			default:
				return d.skip()
			}
			if err != nil {
				return fmt.Errorf("searchedLogStreams.%s: %w", key, err)
			}
			return nil
		})
	})
}

// message reads the string at d.i, a message, unquoting it in place at d.w, and returns
// where it is. A message with an escape and invalid UTF-8 (which becomes U+FFFD, longer) is
// unquoted into strs instead (inStrs).
func (d *decoder) message() (sp span, inStrs bool, err error) {
	b := d.buf
	if d.i >= len(b) || b[d.i] != '"' {
		return span{}, false, d.notA("string")
	}
	w0, w := d.w, d.w
	i := d.i + 1
	run := i
	escaped, checkUTF8 := false, true
	for {
		if i = nextSpecial(b, i, checkUTF8); i >= len(b) {
			d.i = i
			return span{}, false, errEnd
		}
		switch c := b[i]; {
		case c == '"':
			w += copy(b[w:], b[run:i])
			d.i, d.w = i+1, w
			return span{w0, w - w0}, false, nil
		case c == '\\':
			w += copy(b[w:], b[run:i])
			escaped = true
			if i+1 < len(b) && unescape[b[i+1]] != 0 {
				b[w] = unescape[b[i+1]]
				w++
				i += 2
			} else {
				if _, err := escapeLen(b, i); err != nil {
					d.i = i
					return span{}, false, err
				}
				r, n := decodeU(b, i)
				w += utf8.EncodeRune(b[w:], r) // at most 4 bytes for 6 or 12 read
				i += n
			}
			run = i
		case c < 0x20:
			d.i = i
			return span{}, false, d.errAt("invalid control character in a string")
		default:
			// The first byte above ASCII: is the rest of the string valid UTF-8, or without
			// an escape (then its bytes are kept as they are)?
			end, escRest, invalid, err := scanRest(b, i)
			if err != nil {
				d.i = end
				return span{}, false, err
			}
			if invalid && (escaped || escRest) {
				// What is unquoted so far is ASCII, the rest is still as it came.
				out := append(d.s.strs, b[w0:w]...)
				out = append(out, b[run:i]...)
				out = appendUnquoted(out, b[i:end])
				off := len(d.s.strs)
				d.s.strs, d.i = out, end+1
				return span{off, len(out) - off}, true, nil
			}
			checkUTF8 = false
			i++
		}
	}
}

// scanRest reads on from b[i] in a string to its closing quote (end), checking it, and
// reports whether there is an escape and invalid UTF-8 on the way.
func scanRest(b []byte, i int) (end int, escaped, invalid bool, err error) {
	for {
		if i = nextSpecial(b, i, true); i >= len(b) {
			return i, escaped, invalid, errEnd
		}
		switch c := b[i]; {
		case c == '"':
			return i, escaped, invalid, nil
		case c == '\\':
			n, err := escapeLen(b, i)
			if err != nil {
				return i, escaped, invalid, err
			}
			escaped = true
			i += n
		case c < 0x20:
			return i, escaped, invalid, fmt.Errorf("invalid control character in a string at offset %d", i)
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				invalid = true
			}
			i += size
		}
	}
}

// stringValue reads a string where only a string belongs.
func (d *decoder) stringValue(into *[]byte) (span, error) {
	if d.i >= len(d.buf) || d.buf[d.i] != '"' {
		return span{}, d.notA("string")
	}
	return d.str(into)
}

// notA is the error of a value of the wrong type at d.i; a value that is not JSON is a
// syntax error first.
func (d *decoder) notA(want string) error {
	start := d.i
	if err := d.skip(); err != nil {
		return err
	}
	return fmt.Errorf("expected %s, got %.40q", want, d.buf[start:d.i])
}

func (d *decoder) boolValue() (bool, error) {
	if d.i < len(d.buf) {
		switch d.buf[d.i] {
		case 't':
			return true, d.literal("true")
		case 'f':
			return false, d.literal("false")
		}
	}
	return false, d.notA("bool")
}

// int64Value reads an integer (no fraction, no exponent) within int64.
func (d *decoder) int64Value() (int64, error) {
	start := d.i
	if d.i >= len(d.buf) || (d.buf[d.i] != '-' && (d.buf[d.i] < '0' || d.buf[d.i] > '9')) {
		return 0, d.notA("number")
	}
	if err := d.number(); err != nil {
		return 0, err
	}
	tok := d.buf[start:d.i]
	neg := tok[0] == '-'
	if neg {
		tok = tok[1:]
	}
	var n uint64
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("invalid int: %s", d.buf[start:d.i])
		}
		if n > (1<<63)/10 {
			return 0, fmt.Errorf("invalid int: %s", d.buf[start:d.i])
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<63 || (n == 1<<63 && !neg) {
			return 0, fmt.Errorf("invalid int: %s", d.buf[start:d.i])
		}
	}
	if neg {
		return -int64(n), nil
	}
	return int64(n), nil
}

// number consumes a JSON number.
func (d *decoder) number() error {
	b, i := d.buf, d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - j
	}
	start := i
	n := digits()
	if n == 0 {
		return d.errAt("invalid number")
	}
	if n > 1 && b[start] == '0' {
		return d.errAt("leading zeros in a number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			d.i = i
			return d.errAt("no digits after the decimal point")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			d.i = i
			return d.errAt("no digits in the exponent")
		}
	}
	d.i = i
	return nil
}

// skip consumes one JSON value of any kind, checking it.
func (d *decoder) skip() error {
	base := len(d.stack)
	defer func() { d.stack = d.stack[:base] }()
	for {
		// a value
		switch c := d.ws(); {
		case c == '{' || c == '[':
			if err := d.open(); err != nil {
				return err
			}
			d.stack = append(d.stack, c == '{')
			if c == '{' {
				if d.ws() == '}' {
					d.i++
					d.depth--
					d.stack = d.stack[:len(d.stack)-1]
					break
				}
				if err := d.memberName(); err != nil {
					return err
				}
			} else if d.ws() == ']' {
				d.i++
				d.depth--
				d.stack = d.stack[:len(d.stack)-1]
				break
			}
			continue // the first value inside
		case c == '"':
			if err := d.skipString(); err != nil {
				return err
			}
		case c == 't':
			if err := d.literal("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := d.literal("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := d.literal("null"); err != nil {
				return err
			}
		case c == '-' || (c >= '0' && c <= '9'):
			if err := d.number(); err != nil {
				return err
			}
		default:
			return d.errAt("unexpected token")
		}
		// after a value: close containers, or go on to the next value
		for {
			if len(d.stack) == base {
				return nil
			}
			obj := d.stack[len(d.stack)-1]
			c := d.ws()
			if c == ',' {
				d.i++
				if obj {
					if d.ws() != '"' {
						return d.errAt("expected a member name")
					}
					if err := d.memberName(); err != nil {
						return err
					}
				}
				break
			}
			if (obj && c == '}') || (!obj && c == ']') {
				d.i++
				d.depth--
				d.stack = d.stack[:len(d.stack)-1]
				continue
			}
			return d.errAt("expected ',' or the end of a container")
		}
	}
}

// memberName consumes `"name":` inside an object being skipped.
func (d *decoder) memberName() error {
	if d.ws() != '"' {
		return d.errAt("expected a member name")
	}
	if err := d.skipString(); err != nil {
		return err
	}
	if d.ws() != ':' {
		return d.errAt("expected ':'")
	}
	d.i++
	return nil
}

// skipString consumes a string, checking it, without unquoting.
func (d *decoder) skipString() error {
	b := d.buf
	i := d.i + 1
	for {
		if i = nextSpecial(b, i, false); i >= len(b) {
			d.i = i
			return errEnd
		}
		c := b[i]
		switch {
		case c == '"':
			d.i = i + 1
			return nil
		case c == '\\':
			n, err := escapeLen(b, i)
			if err != nil {
				d.i = i
				return err
			}
			i += n
		default:
			d.i = i
			return d.errAt("control character in a string")
		}
	}
}

// escapeLen checks the escape at b[i] ('\\') and returns its length.
func escapeLen(b []byte, i int) (int, error) {
	if i+1 >= len(b) {
		return 0, errEnd
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
		if i+6 > len(b) {
			return 0, errEnd
		}
		for _, h := range b[i+2 : i+6] {
			if hexVal(h) < 0 {
				return 0, fmt.Errorf("invalid character %q in a \\u escape at offset %d", h, i)
			}
		}
		return 6, nil
	}
	return 0, fmt.Errorf("invalid escape character %q at offset %d", b[i+1], i)
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// nextSpecial returns the index of the first byte from i on that is a quote, a backslash, a
// control character or (with nonASCII) a byte of 0x80 or above, or len(b). It tests 8 bytes
// at a time: in the mask the lowest flagged byte is always a true one (a false one can only
// follow a true one, through the borrow), so it is the first.
func nextSpecial(b []byte, i int, nonASCII bool) int {
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		q := v ^ (lows * '"')
		bs := v ^ (lows * '\\')
		m := ((q - lows) &^ q) | ((bs - lows) &^ bs) | ((v - lows*0x20) &^ v)
		if nonASCII {
			m |= v
		}
		if m &= highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 || (nonASCII && c >= utf8.RuneSelf) {
			return i
		}
	}
	return i
}

// str reads the string at d.i (its quote), appends it unquoted to into and returns where.
// Without an escape its bytes are kept as they are; with one, invalid UTF-8 becomes U+FFFD
// (as the SDK unquotes).
func (d *decoder) str(into *[]byte) (span, error) {
	b := d.buf
	out := *into
	start := len(out)
	open := d.i
	i := d.i + 1
	run := i
	escaped, invalid := false, false
	for {
		if i = nextSpecial(b, i, true); i >= len(b) {
			d.i = i
			return span{}, errEnd
		}
		switch c := b[i]; {
		case c == '"':
			out = append(out, b[run:i]...)
			d.i = i + 1
			if escaped && invalid {
				// rare: unquote again, replacing the invalid bytes
				out = appendUnquoted(out[:start], b[open+1:i])
			}
			*into = out
			return span{start, len(out) - start}, nil
		case c == '\\':
			out = append(out, b[run:i]...)
			escaped = true
			if i+1 < len(b) && unescape[b[i+1]] != 0 {
				out = append(out, unescape[b[i+1]])
				i += 2
			} else {
				if _, err := escapeLen(b, i); err != nil {
					d.i = i
					return span{}, err
				}
				var n int
				out, n = appendU(out, b, i)
				i += n
			}
			run = i
		case c < 0x20:
			d.i = i
			return span{}, d.errAt("invalid control character in a string")
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				invalid = true
			}
			i += size
		}
	}
}

var unescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// appendU appends the character of the \u escape at b[i] (checked) and returns how many
// bytes it took.
func appendU(out, b []byte, i int) ([]byte, int) {
	r, n := decodeU(b, i)
	return utf8.AppendRune(out, r), n
}

// decodeU returns the character of the \u escape at b[i] (checked) and how many bytes it
// takes: a surrogate pair is joined, a lone surrogate is U+FFFD.
func decodeU(b []byte, i int) (rune, int) {
	r := u4(b[i+2 : i+6])
	if r >= 0xD800 && r < 0xE000 {
		if r < 0xDC00 && i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
			if r2 := u4(b[i+8 : i+12]); r2 >= 0xDC00 && r2 < 0xE000 {
				return (r-0xD800)<<10 | (r2 - 0xDC00) + 0x10000, 12
			}
		}
		return utf8.RuneError, 6
	}
	return r, 6
}

// u4 is the value of 4 hex digits, or -1.
func u4(h []byte) rune {
	var r rune
	for _, c := range h {
		v := hexVal(c)
		if v < 0 {
			return -1
		}
		r = r<<4 | v
	}
	return r
}

// appendUnquoted appends the content s of a checked string with at least one escape,
// unquoted as encoding/json does: every invalid UTF-8 byte becomes U+FFFD.
func appendUnquoted(out, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && s[i+1] == 'u':
			var n int
			out, n = appendU(out, s, i)
			i += n
		case c == '\\':
			out = append(out, unescape[s[i+1]])
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, s[i:i+size]...)
			}
			i += size
		}
	}
	return out
}

// deserializer is the deserialize-step middleware that decodes a 2xx FilterLogEvents answer
// with pageDecoder. Every other answer (an error status, a transport failure) goes to the
// SDK's own deserializer, which it replaces in the stack and keeps.
type deserializer struct {
	dec *pageDecoder
	sdk middleware.DeserializeMiddleware
}

var _ middleware.DeserializeMiddleware = (*deserializer)(nil)

// sdkDeserializerID is the SDK's operation deserializer in the stack.
const sdkDeserializerID = "OperationDeserializer"

func (*deserializer) ID() string { return sdkDeserializerID }

func (m *deserializer) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleDeserialize(ctx, in)
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if err != nil || !ok || resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return m.sdk.HandleDeserialize(ctx, in, answered{out, md, err})
	}
	body, err := readBody(resp.Body, resp.ContentLength)
	smithyhttp.CloseResponseBody(ctx, resp, false, err)
	if err != nil {
		return out, md, &smithy.DeserializationError{Err: fmt.Errorf("read the FilterLogEvents answer: %w", err)}
	}
	res, err := m.dec.decode(body)
	if err != nil {
		return out, md, &smithy.DeserializationError{Err: err}
	}
	out.Result = res
	return out, md, nil
}

// answered is a DeserializeHandler that returns what the rest of the stack already returned.
type answered struct {
	out middleware.DeserializeOutput
	md  middleware.Metadata
	err error
}

func (a answered) HandleDeserialize(context.Context, middleware.DeserializeInput) (middleware.DeserializeOutput, middleware.Metadata, error) {
	return a.out, a.md, a.err
}

// withPageDecoder returns the client option that decodes FilterLogEvents answers with dec
// (other operations keep the SDK's deserializer).
func withPageDecoder(dec *pageDecoder) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		if st.ID() != "FilterLogEvents" {
			return nil
		}
		sdk, ok := st.Deserialize.Get(sdkDeserializerID)
		if !ok {
			return fmt.Errorf("the FilterLogEvents stack has no %s", sdkDeserializerID)
		}
		_, err := st.Deserialize.Swap(sdkDeserializerID, &deserializer{dec: dec, sdk: sdk})
		return err
	}
}
