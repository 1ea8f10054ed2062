package awss3sqs

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
)

// Meta keys this source sets on every record, beside event.MetaAWSRegion.
const (
	MetaBucket = "aws.s3_bucket"
	MetaKey    = "aws.s3_key"
)

// poisonError marks an object that can never be read (not gzip nor JSON, no Records array,
// missing): it goes to the dead letters once with the reason and its message is deleted.
type poisonError struct{ err error }

func (e *poisonError) Error() string { return e.err.Error() }
func (e *poisonError) Unwrap() error { return e.err }

func poison(format string, args ...any) error { return &poisonError{fmt.Errorf(format, args...)} }

// isPoison reports whether err is, or wraps, a poisonError.
func isPoison(err error) bool {
	var p *poisonError
	return errors.As(err, &p)
}

// objectReader turns one object into records.
type objectReader struct {
	s   *Source
	ref objectRef
}

// fetch reads the object, as stored, within api_timeout. The stored bytes (CloudTrail's are
// gzip, a few MB at most) are held whole, so that a delivery held up by backpressure never
// holds the connection; they are decompressed and split as the records are published.
func (o *objectReader) fetch(ctx context.Context, api s3API) ([]byte, error) {
	ctx, cancel := o.s.apiCtx(ctx)
	defer cancel()
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.ref.Bucket), Key: aws.String(o.ref.Key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	limit := int64(o.s.cfg.MaxObjectSize)
	tooLarge := func() error {
		return poison("s3://%s/%s: larger than max_object_size (%d bytes)", o.ref.Bucket, o.ref.Key, limit)
	}
	var buf bytes.Buffer
	if n := aws.ToInt64(out.ContentLength); n > limit {
		return nil, tooLarge()
	} else if n > 0 {
		buf.Grow(int(n))
	}
	if _, err := buf.ReadFrom(io.LimitReader(out.Body, limit+1)); err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", o.ref.Bucket, o.ref.Key, err)
	}
	if int64(buf.Len()) > limit {
		return nil, tooLarge()
	}
	return buf.Bytes(), nil
}

// parse streams data: gunzipped when it starts with gzip's magic bytes (whatever the key or
// Content-Encoding say), else as it is, a JSON object whose Records array is split one
// element at a time. emit gets each record; a poisonError says the object is unreadable for
// good (emit may have had some records of it first). It returns the elements read.
func (o *objectReader) parse(data []byte, emit func(*event.Record) error) (int, error) {
	var r io.Reader = bytes.NewReader(data)
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return 0, poison("s3://%s/%s: not gzip: %v", o.ref.Bucket, o.ref.Key, err)
		}
		defer zr.Close()
		r = zr
	}
	return o.split(r, emit)
}

// maxValue bounds one value of an object's top level or of its Records array as split reads
// it: beyond it without the value's end (a CloudTrail record is at most a few hundred KB), the
// object is not a CloudTrail log file.
const maxValue = 32 << 20

// window reads r in chunks and holds the bytes from the value being read on: buf[pos:] is
// what is left to read.
type window struct {
	r   io.Reader
	buf []byte
	pos int
	end bool  // r is done
	err error // why r is done, when not io.EOF
}

// more reads another chunk, keeping buf[keep:] (moved to the start); false when r is done.
func (w *window) more(keep int) bool {
	if w.end {
		return false
	}
	n := copy(w.buf[:cap(w.buf)], w.buf[keep:])
	w.pos -= keep
	if cap(w.buf)-n < 32<<10 {
		w.buf = append(w.buf[:n], make([]byte, cap(w.buf))...)
	}
	w.buf = w.buf[:cap(w.buf)]
	m, err := w.r.Read(w.buf[n:])
	w.buf = w.buf[:n+m]
	if err != nil {
		w.end = true
		if err != io.EOF {
			w.err = err
		}
	}
	return m > 0 || !w.end
}

// ws moves past white space, reading more as needed; false at the end of the input.
func (w *window) ws() bool {
	for {
		for w.pos < len(w.buf) {
			switch w.buf[w.pos] {
			case ' ', '\t', '\n', '\r':
				w.pos++
			default:
				return true
			}
		}
		if !w.more(w.pos) {
			return false
		}
	}
}

// peek returns the next byte after white space (not consumed), 0 at the end of the input.
func (w *window) peek() byte {
	if !w.ws() {
		return 0
	}
	return w.buf[w.pos]
}

// value checks the JSON value at pos (after white space) and moves past it; it returns the
// value's bytes, valid until the next read.
func (w *window) value() ([]byte, error) {
	if !w.ws() {
		return nil, w.endError()
	}
	for {
		sc := jsonx.Scanner{B: w.buf[w.pos:]}
		err := sc.Skip()
		// A value that ends where the bytes read end may go on (a number) or be cut: read more.
		if err == nil && (sc.I < len(sc.B) || w.end) {
			v := sc.B[:sc.I]
			w.pos += sc.I
			return v, nil
		}
		if len(sc.B) > maxValue {
			return nil, fmt.Errorf("a value longer than %d bytes", maxValue)
		}
		if !w.more(w.pos) {
			if err != nil && w.err != nil {
				return nil, w.err
			}
			if err != nil {
				return nil, err
			}
		}
	}
}

// endError says why the input ended early.
func (w *window) endError() error {
	if w.err != nil {
		return w.err
	}
	return io.ErrUnexpectedEOF
}

// split reads {"Records":[...]} from r, one element at a time, and emits each as a record.
// Fields other than Records are skipped (checked as JSON). It returns how many elements it
// emitted.
func (o *objectReader) split(r io.Reader, emit func(*event.Record) error) (int, error) {
	w := &window{r: r, buf: make([]byte, 0, 64<<10)}
	bad := func(err error) error {
		return poison("s3://%s/%s: not a CloudTrail log file ({\"Records\":[...]}): %v", o.ref.Bucket, o.ref.Key, err)
	}
	switch w.peek() {
	case 0:
		if w.err != nil {
			return 0, bad(w.err)
		}
		return 0, bad(errors.New("empty"))
	case '{':
		w.pos++
	default:
		return 0, bad(errors.New("not a JSON object"))
	}
	n, found := 0, false
	if w.peek() == '}' {
		return 0, bad(errors.New("no Records array"))
	}
	for {
		if w.peek() != '"' {
			return n, bad(errors.New("want an object key"))
		}
		key, err := w.value()
		if err != nil {
			return n, bad(err)
		}
		records := !found && isRecordsKey(key)
		if w.peek() != ':' {
			return n, bad(errors.New("after object key: want ':'"))
		}
		w.pos++
		if !records {
			if _, err := w.value(); err != nil {
				return n, bad(err)
			}
		} else {
			found = true
			if w.peek() != '[' {
				return n, bad(errors.New("Records is not an array"))
			}
			w.pos++
			if w.peek() == ']' {
				w.pos++
			} else {
				for {
					elem, err := w.value()
					if err != nil {
						return n, bad(err)
					}
					rec := o.record(bytes.Clone(elem), n)
					n++
					if rec != nil {
						if err := emit(rec); err != nil {
							return n, err
						}
					}
					c := w.peek()
					w.pos++
					if c == ']' {
						break
					}
					if c != ',' {
						return n, bad(errors.New("after array element: want ',' or ']'"))
					}
				}
			}
		}
		c := w.peek()
		w.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			return n, bad(errors.New("after object member: want ',' or '}'"))
		}
	}
	if !found {
		return n, bad(errors.New("no Records array"))
	}
	return n, nil
}

// isRecordsKey reports whether key (a JSON string, quotes included) is "Records".
func isRecordsKey(key []byte) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key) == `"Records"`
	}
	var k string
	return json.Unmarshal(key, &k) == nil && k == "Records"
}

// record builds the record of element i of the object's Records: a CloudTrail record has
// Kind cloudtrail, Subtype its eventType, ID its eventID (else <bucket>/<key>#<i>), Time its
// eventTime and its parse in Parsed; any other element keeps no Kind and the object's
// position as ID.
func (o *objectReader) record(elem []byte, i int) *event.Record {
	elem = bytes.TrimSpace(elem)
	if fixed, first := jsonx.RepairUTF8(elem); first >= 0 {
		elem = fixed
	}
	r := &event.Record{
		ID:        o.ref.Bucket + "/" + o.ref.Key + "#" + strconv.Itoa(i),
		Source:    o.s.set.Name,
		ValidJSON: true,
		Meta: map[string]string{
			event.MetaAWSRegion: o.ref.Region,
			MetaBucket:          o.ref.Bucket,
			MetaKey:             o.ref.Key,
			event.MetaInputForm: cloudtrailrecord.FormRecordsFile.String(),
		},
	}
	if ev, err := cloudtrailrecord.Parse(elem); err == nil {
		r.Raw, r.Kind, r.Subtype, r.Parsed, r.Time = ev.Raw, event.KindCloudTrail, ev.EventType, ev, ev.EventTime
		if ev.EventID != "" {
			r.ID = ev.EventID
		}
	} else if len(elem) > 0 && elem[0] == '{' {
		r.Raw, r.Time = elem, time.Now().UTC()
	} else {
		raw := append([]byte(`{"message":`), elem...)
		r.Raw, r.Time = append(raw, '}'), time.Now().UTC()
	}
	if ls := o.s.logSource(o.ref, r.Raw); ls != "" {
		r.Meta[event.MetaLogSourceID] = ls
	}
	return r
}
