package awss3sqs

import (
	"bufio"
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
		r = bufio.NewReaderSize(zr, 64<<10)
	}
	return o.split(r, emit)
}

// split reads {"Records":[...]} from r, one element at a time, and emits each as a record.
// Fields other than Records are skipped. It returns how many elements it emitted.
func (o *objectReader) split(r io.Reader, emit func(*event.Record) error) (int, error) {
	dec := json.NewDecoder(r)
	bad := func(err error) error {
		return poison("s3://%s/%s: not a CloudTrail log file ({\"Records\":[...]}): %v", o.ref.Bucket, o.ref.Key, err)
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return 0, bad(errors.New("empty"))
		}
		return 0, bad(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return 0, bad(errors.New("not a JSON object"))
	}
	n, found := 0, false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return n, bad(err)
		}
		if k, _ := tok.(string); k != "Records" || found {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return n, bad(err)
			}
			continue
		}
		found = true
		tok, err = dec.Token()
		if err != nil {
			return n, bad(err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return n, bad(errors.New("Records is not an array"))
		}
		for dec.More() {
			var elem json.RawMessage
			if err := dec.Decode(&elem); err != nil {
				return n, bad(err)
			}
			rec := o.record(elem, n)
			n++
			if rec == nil {
				continue
			}
			if err := emit(rec); err != nil {
				return n, err
			}
		}
		if _, err := dec.Token(); err != nil {
			return n, bad(err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return n, bad(err)
	}
	if !found {
		return n, bad(errors.New("no Records array"))
	}
	return n, nil
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
