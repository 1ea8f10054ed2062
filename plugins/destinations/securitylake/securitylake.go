// Package securitylake is the Amazon Security Lake destination: it maps records to OCSF
// events, writes them as zstd Parquet objects, one OCSF class per object, under a custom
// source's partitions (ext/<source>[/<version>]/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/),
// and uploads each object to the lake's bucket with the S3 multipart API. A record is
// acknowledged once the object that holds it is stored.
package securitylake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/ocsf"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Type is the plugin type name.
const Type = "aws_security_lake"

// contentType is the media type objects are stored with.
const contentType = "application/vnd.apache.parquet"

// ocsfEvent is an OCSF event as internal/ocsf builds it (its Event): a pointer to a struct with
// parquet tags, one struct type per OCSF class, whose Parquet schema is that of the class.
type ocsfEvent interface {
	ClassUID() int
	EventTime() time.Time
	CloudAccount() string
	CloudRegion() string
}

// mapper turns records into OCSF events. Map's error refuses the record (it goes to the dead
// letters with the reason), unless it is already a plugin error (plugin.Skipped,
// plugin.Refused), which is kept. Validate, when set, checks an event against the OCSF schema
// version claimed; its error refuses the record too.
type mapper struct {
	Map      func(*event.Record) (ocsfEvent, error)
	Validate func(ocsfEvent) error
}

// defaultMapper is the mapper of the built-in destination: internal/ocsf's mappings and its
// OCSF 1.1.0 checks.
func defaultMapper() mapper {
	return mapper{
		Map: func(r *event.Record) (ocsfEvent, error) {
			ev, err := ocsf.FromRecord(r)
			if err != nil {
				return nil, err
			}
			return ev, nil
		},
		Validate: func(ev ocsfEvent) error {
			e, ok := ev.(ocsf.Event)
			if !ok {
				return fmt.Errorf("%T is not an OCSF event of this build", ev)
			}
			return ocsf.Validate(e)
		},
	}
}

// validateSample is how many events of each class the validate mode "sample" checks before it
// checks one in validateSample.
const validateSample = 1000

// checker says which events are checked against the schema (the validate option): all, none,
// or the first validateSample of each class in a run and one in validateSample after them.
type checker struct {
	mode string
	mu   sync.Mutex
	seen map[int]int64 // class_uid → events of it seen
}

func (c *checker) due(class int) bool {
	switch c.mode {
	case ValidateAll:
		return true
	case ValidateOff:
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.seen[class]
	c.seen[class] = n + 1
	return n < validateSample || n%validateSample == 0
}

// Factory registers the destination.
func Factory() plugin.Factory {
	return plugin.Factory{
		Type:      Type,
		Kind:      plugin.KindDestination,
		Summary:   "maps records to OCSF and stores them as Parquet objects in an Amazon Security Lake custom source",
		Checks:    true,
		NewConfig: NewConfig,
		NewDestination: func(c plugin.Config, set plugin.Settings) (plugin.Destination, error) {
			return New(context.Background(), c.(*Config), set, defaultMapper())
		},
		// A Write returns once the object holding its records is stored, so the batches in
		// flight (workers) are what one object can gather before it closes on max_file_idle:
		// 16 batches of up to 2,000 records or 4 MiB. Those records stay in memory meanwhile.
		Delivery: plugin.DeliveryDefaults{
			BatchMaxRecords: 2000,
			BatchMaxBytes:   4 << 20,
			Workers:         16,
			QueueSize:       20000,
		},
	}
}

// Destination writes OCSF Parquet objects to a Security Lake bucket.
type Destination struct {
	cfg    *Config
	set    plugin.Settings
	api    s3API
	mapper mapper
	check  *checker
	// marker starts the name of every object this instance writes (host and plugin name), so
	// that a later run finds the multipart uploads an earlier one left unfinished.
	marker  string
	started time.Time
	seq     atomic.Uint64
	// ctx is the uploads' context: it ends when Close gives up waiting for them.
	ctx    context.Context
	cancel context.CancelFunc

	staleOnce sync.Once
	schemas   sync.Map // reflect.Type -> *parquet.Schema
	inflight  sync.WaitGroup

	mu     sync.Mutex
	open   map[partKey]*file
	closed bool
}

var (
	_ plugin.Destination = (*Destination)(nil)
	_ plugin.Checker     = (*Destination)(nil)
	_ plugin.KindRefuser = (*Destination)(nil)
)

// New builds the destination and its S3 client. It does not call AWS.
func New(ctx context.Context, cfg *Config, set plugin.Settings, m mapper) (*Destination, error) {
	awsCfg, err := awsauth.Load(ctx, cfg.AWS, cfg.AWS.Region, awsauth.WithLogger(set.Logger))
	if err != nil {
		return nil, err
	}
	api := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = cfg.PathStyle })
	return newDestination(cfg, set, api, m), nil
}

func newDestination(cfg *Config, set plugin.Settings, api s3API, m mapper) *Destination {
	host, _ := os.Hostname()
	ctx, cancel := context.WithCancel(context.Background())
	return &Destination{
		cfg: cfg, set: set, api: api, mapper: m,
		check:   &checker{mode: cfg.ValidateMode, seen: map[int]int64{}},
		marker:  safeName(host + "-" + set.Name),
		started: time.Now(),
		ctx:     ctx, cancel: cancel,
		open: map[partKey]*file{},
	}
}

// unsafeNameRe matches what an object name does not take from a host or plugin name.
var unsafeNameRe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// safeName is s with each run of characters other than letters, digits, "." and "-" made "-".
func safeName(s string) string {
	return strings.Trim(unsafeNameRe.ReplaceAllString(s, "-"), "-")
}

// RefuseKind implements plugin.KindRefuser, as the configuration answers it.
func (d *Destination) RefuseKind(kind event.Kind, subtype string) (string, bool) {
	return d.cfg.RefuseKind(kind, subtype)
}

// Check implements plugin.Checker: HeadBucket tells wrong credentials, a missing permission
// and a missing bucket apart.
func (d *Destination) Check(ctx context.Context) error {
	_, err := d.api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(d.cfg.Bucket)})
	if err == nil {
		return nil
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusForbidden:
			return fmt.Errorf("the credentials may not use bucket %s (%v): use the custom source's provider role (assume_role_arn, external_id)", d.cfg.Bucket, err)
		case http.StatusNotFound:
			return fmt.Errorf("no bucket %s (%v): it is the Security Lake bucket of region %s", d.cfg.Bucket, err, d.cfg.AWS.Region)
		}
	}
	return fmt.Errorf("HeadBucket %s: %w", d.cfg.Bucket, err)
}

// partKey is one object's partition: records of one OCSF class, custom source, region, account
// and day share an object.
type partKey struct {
	class                        int
	source, region, account, day string
}

// row is one record's event, with the record's index in its batch.
type row struct {
	idx int
	ev  ocsfEvent
	at  time.Time
}

// keySegmentRe is what a region or account taken from a record may hold to be a partition.
var keySegmentRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// prepare maps one record into its event and partition, or says why it cannot go.
func (d *Destination) prepare(r *event.Record) (ocsfEvent, partKey, error) {
	if why, refused := d.cfg.RefuseKind(r.Kind, r.Subtype); refused {
		return nil, partKey{}, plugin.Skipped(plugin.ReasonUnsupported, errors.New(why))
	}
	ev, err := d.mapper.Map(r)
	if err != nil {
		var se *plugin.SkippedError
		var re *plugin.RefusedError
		if errors.As(err, &se) || errors.As(err, &re) {
			return nil, partKey{}, err
		}
		return nil, partKey{}, plugin.Refused("OCSFMapping", fmt.Errorf("mapping to OCSF: %w", err))
	}
	if ev == nil || reflect.ValueOf(ev).IsNil() {
		return nil, partKey{}, plugin.Refused("OCSFMapping", errors.New("mapping to OCSF gave no event"))
	}
	if d.mapper.Validate != nil && d.check.due(ev.ClassUID()) {
		if err := d.mapper.Validate(ev); err != nil {
			return nil, partKey{}, plugin.Refused("OCSFValidation", fmt.Errorf("OCSF validation: %w", err))
		}
	}
	class, at := ev.ClassUID(), ev.EventTime()
	if class < 1 {
		return nil, partKey{}, plugin.Refused("OCSFValidation", fmt.Errorf("class_uid %d is no OCSF class", class))
	}
	if at.IsZero() {
		return nil, partKey{}, plugin.Refused("OCSFValidation", errors.New("the event has no time"))
	}
	k := partKey{class: class, source: d.cfg.sourceFor(class), region: d.cfg.AWS.Region, account: d.cfg.AccountID, day: at.UTC().Format("20060102")}
	if s := ev.CloudRegion(); d.cfg.RegionFromRecord && s != "" {
		if !keySegmentRe.MatchString(s) {
			return nil, partKey{}, plugin.Refused("OCSFValidation", fmt.Errorf("cloud.region %q cannot be a region= partition", s))
		}
		k.region = s
	}
	if s := ev.CloudAccount(); d.cfg.AccountFromRecord && s != "" {
		if !keySegmentRe.MatchString(s) {
			return nil, partKey{}, plugin.Refused("OCSFValidation", fmt.Errorf("cloud.account.uid %q cannot be an accountId= partition", s))
		}
		k.account = s
	}
	if k.account == "" {
		return nil, partKey{}, plugin.Refused("NoAccount", errors.New("the event names no cloud account and account_id is not set"))
	}
	return ev, k, nil
}

// Write implements plugin.Destination. Each record goes into the open object of its partition;
// Write returns once every object holding its records is stored (or failed).
func (d *Destination) Write(ctx context.Context, recs []*event.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if d.cfg.AbortStaleUploads {
		d.staleOnce.Do(func() { d.abortStale(ctx) })
	}
	failed := map[int]error{}
	groups := map[partKey][]row{}
	var order []partKey
	for i, r := range recs {
		ev, k, err := d.prepare(r)
		if err != nil {
			failed[i] = err
			continue
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], row{idx: i, ev: ev, at: ev.EventTime()})
	}
	var waits []segment
	for _, k := range order {
		rows := groups[k]
		// Security Lake asks for records sorted by time within an object: a batch's are.
		slices.SortStableFunc(rows, func(a, b row) int { return a.at.Compare(b.at) })
		segs, err := d.append(k, rows)
		waits = append(waits, segs...)
		if err != nil {
			placed := 0
			for _, s := range segs {
				placed += len(s.rows)
			}
			for _, r := range rows[placed:] {
				failed[r.idx] = err
			}
		}
	}
	var fatal error
	for _, w := range waits {
		var err error
		select {
		case <-w.f.done:
			err = w.f.err
		case <-ctx.Done():
			err = fmt.Errorf("waiting for s3://%s/%s to be stored: %w", d.cfg.Bucket, w.f.up.key, ctx.Err())
		}
		if plugin.IsFatal(err) {
			fatal = err
		}
		if err != nil {
			for _, r := range w.rows {
				failed[r.idx] = err
			}
		}
	}
	if fatal != nil {
		// The engine stops the destination on a fatal error of the whole call (not of a
		// record): its records are kept in its spool, or stay unacknowledged.
		return fatal
	}
	if len(failed) > 0 {
		return &plugin.BatchError{Failed: failed}
	}
	return nil
}

// errClosed is the error of a Write after Close.
var errClosed = errors.New("the Security Lake destination is closed")

// segment is rows of one Write that went into one object.
type segment struct {
	f    *file
	rows []row
}

// append adds rows to the open object of partition k (opening one when there is none), going
// on in a new object each time one reaches max_file_size, and returns where they went.
func (d *Destination) append(k partKey, rows []row) ([]segment, error) {
	typ := reflect.TypeOf(rows[0].ev)
	for _, r := range rows[1:] {
		if reflect.TypeOf(r.ev) != typ {
			return nil, plugin.Refused("OCSFMapping", fmt.Errorf("OCSF class %d mapped to both %s and %s", k.class, typ, reflect.TypeOf(r.ev)))
		}
	}
	var segs []segment
	for len(rows) > 0 {
		f, err := d.fileFor(k)
		if err != nil {
			return segs, err
		}
		f.mu.Lock()
		if f.closed { // closing since fileFor found it: take the next
			f.mu.Unlock()
			continue
		}
		if f.w == nil {
			f.typ = typ
			f.w = parquet.NewWriter(f.up, d.schemaOf(rows[0].ev), parquet.Compression(&zstd.Codec{}))
		} else if f.typ != typ {
			f.mu.Unlock()
			return segs, plugin.Refused("OCSFMapping", fmt.Errorf("OCSF class %d mapped to both %s and %s", k.class, f.typ, typ))
		}
		n, err := f.add(d.ctx, rows, int64(d.cfg.RowGroupSize), int64(d.cfg.MaxFileSize))
		if err != nil {
			f.closed = true
			f.stopTimers()
			f.mu.Unlock()
			d.detach(f)
			f.complete(d, errors.Join(err, f.up.abort(d.ctx)))
			// The object's error is the outcome of every record in it, and of the rest.
			return append(segs, segment{f, rows}), nil
		}
		segs = append(segs, segment{f, rows[:n]})
		rows = rows[n:]
		if f.w.Size() < int64(d.cfg.MaxFileSize) {
			f.idle.Reset(d.cfg.MaxFileIdle)
			f.mu.Unlock()
			continue
		}
		// Full: closed now, so that no row goes in after this one, and stored meanwhile.
		f.closed = true
		f.stopTimers()
		f.mu.Unlock()
		d.detach(f)
		go d.store(f)
	}
	return segs, nil
}

// schemaOf is the Parquet schema of an event's struct type, worked out once per type.
func (d *Destination) schemaOf(ev ocsfEvent) *parquet.Schema {
	t := reflect.TypeOf(ev)
	if s, ok := d.schemas.Load(t); ok {
		return s.(*parquet.Schema)
	}
	s := parquet.SchemaOf(ev)
	d.schemas.Store(t, s)
	return s
}

// fileFor returns the open object of partition k, opening one when there is none. Opening one
// past max_open_files closes the one idle longest.
func (d *Destination) fileFor(k partKey) (*file, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errClosed
	}
	if f := d.open[k]; f != nil {
		return f, nil
	}
	if len(d.open) >= d.cfg.MaxOpenFiles {
		var victim *file
		for _, f := range d.open {
			if victim == nil || f.last.Load() < victim.last.Load() {
				victim = f
			}
		}
		delete(d.open, victim.part)
		go d.roll(victim)
	}
	now := time.Now()
	name := fmt.Sprintf("%s_%d_%d_%d.zstd.parquet", d.marker, k.class, now.UnixMilli(), d.seq.Add(1))
	key := d.cfg.sourcePrefix(k.source) + "region=" + k.region + "/accountId=" + k.account + "/eventDay=" + k.day + "/" + name
	f := &file{
		part: k, opened: now, done: make(chan struct{}),
		up: &objectUpload{api: d.api, bucket: d.cfg.Bucket, key: key, partSize: int(d.cfg.PartSize), metrics: d.set.Metrics},
	}
	f.last.Store(now.UnixNano())
	d.inflight.Add(1)
	f.age = time.AfterFunc(d.cfg.MaxFileAge, func() { d.roll(f) })
	f.idle = time.AfterFunc(d.cfg.MaxFileIdle, func() { d.roll(f) })
	d.open[k] = f
	return f, nil
}

// detach forgets f as its partition's open object.
func (d *Destination) detach(f *file) {
	d.mu.Lock()
	if d.open[f.part] == f {
		delete(d.open, f.part)
	}
	d.mu.Unlock()
}

// roll closes f and stores it; the records of every Write waiting on it learn the outcome.
func (d *Destination) roll(f *file) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.stopTimers()
	f.mu.Unlock()
	d.detach(f)
	d.store(f)
}

// store writes f's footer and stores it. f is closed: nothing else touches its writer and
// upload.
func (d *Destination) store(f *file) {
	if f.w == nil {
		f.complete(d, nil) // opened and closed before a row went in
		return
	}
	var err error
	if err = f.w.Close(); err != nil {
		err = errors.Join(fmt.Errorf("writing the Parquet footer of s3://%s/%s: %w", d.cfg.Bucket, f.up.key, err), f.up.abort(d.ctx))
	} else {
		err = f.up.finish(d.ctx)
	}
	f.complete(d, err)
}

// file is one object being written: its Parquet writer, its upload, and the Writes waiting
// for it.
type file struct {
	part   partKey
	opened time.Time
	up     *objectUpload
	last   atomic.Int64 // when rows were last added, in Unix nanoseconds

	mu     sync.Mutex
	typ    reflect.Type
	w      *parquet.Writer
	rows   int
	closed bool
	age    *time.Timer
	idle   *time.Timer

	done chan struct{}
	err  error // set before done is closed
}

// add writes rows until the object reaches maxFileSize, and returns how many it wrote (one at
// least). Each time the row group holds rowGroupSize (uncompressed) it is written out and the
// parts that filled are sent, so that a file costs about a row group and a part of memory
// however large it grows. f.mu is held.
func (f *file) add(ctx context.Context, rows []row, rowGroupSize, maxFileSize int64) (int, error) {
	n := 0
	defer func() { f.rows += n; f.last.Store(time.Now().UnixNano()) }()
	for _, r := range rows {
		if err := f.w.Write(r.ev); err != nil {
			return n, fmt.Errorf("writing Parquet for s3://%s/%s: %w", f.up.bucket, f.up.key, err)
		}
		n++
		if f.w.Size()-f.up.written >= rowGroupSize {
			if err := f.w.Flush(); err != nil {
				return n, fmt.Errorf("writing a Parquet row group for s3://%s/%s: %w", f.up.bucket, f.up.key, err)
			}
			if err := f.up.uploadParts(ctx); err != nil {
				return n, err
			}
		}
		if f.w.Size() >= maxFileSize {
			break
		}
	}
	return n, nil
}

func (f *file) stopTimers() {
	f.age.Stop()
	f.idle.Stop()
}

// complete records f's outcome and wakes the Writes waiting for it.
func (f *file) complete(d *Destination, err error) {
	f.err = classify(err, d.cfg.Bucket)
	close(f.done)
	d.inflight.Done()
	if f.rows == 0 {
		return
	}
	if err != nil {
		d.set.Logger.Warn("object not stored: its records are retried", "key", f.up.key, "records", f.rows, "error", err)
		return
	}
	d.set.Logger.Debug("object stored", "key", f.up.key, "records", f.rows, "bytes", f.up.written,
		"parts", max(len(f.up.parts), 1), "open_for", time.Since(f.opened).Round(time.Millisecond))
}

// classify marks an S3 error that retrying cannot fix (the credentials may not write, the
// bucket does not exist) fatal, and S3's SlowDown throttled; other errors are retried.
func classify(err error, bucket string) error {
	if err == nil {
		return nil
	}
	var api smithy.APIError
	code := ""
	if errors.As(err, &api) {
		code = api.ErrorCode()
	}
	var re *awshttp.ResponseError
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	switch {
	case code == "NoSuchBucket":
		return plugin.Fatal(fmt.Errorf("bucket %s does not exist (check the bucket option: the Security Lake bucket of the region, and endpoint): %w", bucket, err))
	case status == http.StatusForbidden && code != "RequestTimeTooSkewed":
		return plugin.Fatal(fmt.Errorf("the credentials may not write to bucket %s (check assume_role_arn and external_id: the custom source's provider role; or access_key_id, profile): %w", bucket, err))
	case code == "SlowDown" || status == http.StatusServiceUnavailable:
		return plugin.Throttled(err, 0)
	}
	return err
}

// abortStale aborts the multipart uploads an earlier run of this instance left: those under
// the sources' prefixes whose object name starts with this instance's marker, started before
// this run. A failure is logged: a bucket lifecycle rule (AbortIncompleteMultipartUpload)
// removes what is left.
func (d *Destination) abortStale(ctx context.Context) {
	n := 0
	for _, prefix := range d.cfg.sourcePrefixes() {
		in := &s3.ListMultipartUploadsInput{Bucket: aws.String(d.cfg.Bucket), Prefix: aws.String(prefix)}
		for {
			out, err := d.api.ListMultipartUploads(ctx, in)
			if err != nil {
				d.set.Logger.Warn("cannot list the multipart uploads an earlier run may have left (a bucket lifecycle rule removes them)", "prefix", prefix, "error", err)
				break
			}
			for _, u := range out.Uploads {
				key := aws.ToString(u.Key)
				name := key[strings.LastIndexByte(key, '/')+1:]
				if !strings.HasPrefix(name, d.marker+"_") || u.Initiated == nil || !u.Initiated.Before(d.started) {
					continue
				}
				up := &objectUpload{api: d.api, bucket: d.cfg.Bucket, key: key, uploadID: aws.ToString(u.UploadId)}
				if err := up.abort(ctx); err != nil {
					d.set.Logger.Warn("cannot abort a multipart upload an earlier run left", "key", key, "error", err)
					continue
				}
				n++
			}
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
		}
	}
	if n > 0 {
		d.set.Logger.Info("aborted the multipart uploads an earlier run left unfinished", "uploads", n)
	}
}

// Close implements plugin.Destination: every open object is closed and stored, and Close
// returns once they are (or ctx ends, which aborts the uploads still running).
func (d *Destination) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	files := make([]*file, 0, len(d.open))
	for _, f := range d.open {
		files = append(files, f)
	}
	d.mu.Unlock()
	slices.SortFunc(files, func(a, b *file) int { return cmp.Compare(a.up.key, b.up.key) })
	for _, f := range files {
		go d.roll(f)
	}
	done := make(chan struct{})
	go func() { d.inflight.Wait(); close(done) }()
	defer d.cancel()
	select {
	case <-done:
	case <-ctx.Done():
		d.cancel()
		<-done
		return fmt.Errorf("closing: objects still uploading were aborted: %w", ctx.Err())
	}
	var errs []error
	for _, f := range files {
		if f.err != nil {
			errs = append(errs, f.err)
		}
	}
	if len(errs) > 0 {
		d.set.Logger.Log(ctx, slog.LevelWarn, "some objects were not stored at close", "objects", len(errs))
	}
	return errors.Join(errs...)
}
