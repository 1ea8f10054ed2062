package awss3sqs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/state"
)

// DeliverySlack is how long after the end of a backfill's range CloudTrail may still deliver
// a file holding records of the range: files delivered up to To + DeliverySlack are read (and
// only their records of the range published).
const DeliverySlack = time.Hour

// walkDepth bounds how many folders below backfill_prefix the backfill looks for CloudTrail/
// (AWSLogs/, an organization id, an account).
const walkDepth = 4

// deliveryRe finds the delivery time in a CloudTrail log file's name:
// <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz.
var deliveryRe = regexp.MustCompile(`_(\d{8}T\d{4})Z_[^/]*$`)

// Backfill reads the CloudTrail log files of backfill_bucket under backfill_prefix that hold
// records of [r.From, r.To), without SQS: it finds every account and region folder
// (…/CloudTrail/<region>/), lists each one's day folders from From's day to To+DeliverySlack's,
// reads the files delivered in [From, To+DeliverySlack) in key order (the time order), and
// publishes their records of the range. Each account and region is a part of the progress;
// up to `number_of_workers` run at once. A file is done once every batch of it was acknowledged (a
// nacked file is read again); the last key done of each part is saved in the source's state,
// so a backfill of the same range that is stopped and started again resumes after it. The
// saved keys are removed once the whole range was read, so the same range can be read again.
func (s *Source) Backfill(ctx context.Context, pub plugin.Publisher, r plugin.BackfillRange) error {
	if s.cfg.BackfillBucket == "" {
		return plugin.Fatal(fmt.Errorf("%s backfill: backfill_bucket: required (the bucket CloudTrail writes to)", Type))
	}
	if r.From.IsZero() || r.To.IsZero() || !r.From.Before(r.To) {
		return fmt.Errorf("%s backfill: from (%s) must be before to (%s)", Type, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	}
	if ctx.Err() != nil {
		return nil
	}
	log := s.set.Logger.With("bucket", s.cfg.BackfillBucket, "prefix", s.cfg.BackfillPrefix)
	api, err := s.s3Client(ctx, "")
	if err != nil {
		return err
	}
	parts, err := s.findParts(ctx, api, s.cfg.BackfillPrefix, 0)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		if fe := s.s3ConfigError(objectRef{Bucket: s.cfg.BackfillBucket, Key: s.cfg.BackfillPrefix}, err); fe != nil {
			return fe
		}
		if errorCode(err) == "NoSuchBucket" {
			return plugin.Fatal(fmt.Errorf("backfill_bucket: the bucket %s does not exist: %w", s.cfg.BackfillBucket, err))
		}
		return fmt.Errorf("%s backfill: listing s3://%s/%s: %w", Type, s.cfg.BackfillBucket, s.cfg.BackfillPrefix, err)
	}
	from, to := r.From.UTC(), r.To.UTC()
	store := s.set.State.Namespace(fmt.Sprintf("backfill/%d-%d", from.Unix(), to.Unix()))
	log.Info("backfill", "from", from.Format(time.RFC3339), "to", to.Format(time.RFC3339), "parts", len(parts))
	var pmu sync.Mutex
	report := func(p plugin.BackfillProgress) {
		if r.Progress != nil {
			pmu.Lock()
			defer pmu.Unlock()
			r.Progress(p)
		}
	}
	for _, p := range parts {
		report(plugin.BackfillProgress{Part: partName(s.cfg.BackfillPrefix, p), Position: from})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, s.cfg.Workers)
	errs := make(chan error, len(parts))
	for _, p := range parts {
		go func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs <- nil
				return
			}
			defer func() { <-sem }()
			err := s.backfillPart(ctx, api, pub, store, p, from, to, report)
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for range parts {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first == nil && ctx.Err() == nil {
		for _, p := range parts {
			_ = store.Delete(context.WithoutCancel(ctx), partKey(p))
		}
		log.Info("backfill done")
	}
	return first
}

// partName is a part's name in the progress: its folder below the prefix.
func partName(prefix, p string) string {
	return strings.TrimSuffix(strings.TrimPrefix(p, prefix), "/")
}

// partKey is where a part's last key done is saved.
func partKey(p string) string { return "part/" + p }

// findParts returns the region folders (…/CloudTrail/<region>/) under prefix, looking at most
// walkDepth-depth folders down.
func (s *Source) findParts(ctx context.Context, api s3API, prefix string, depth int) ([]string, error) {
	segs := strings.Split(strings.Trim(prefix, "/"), "/")
	if len(segs) >= 2 && segs[len(segs)-2] == "CloudTrail" && strings.HasSuffix(prefix, "/") {
		return []string{prefix}, nil
	}
	kids, err := s.listFolders(ctx, api, prefix)
	if err != nil {
		return nil, err
	}
	if len(segs) > 0 && segs[len(segs)-1] == "CloudTrail" && strings.HasSuffix(prefix, "/") {
		return kids, nil
	}
	if depth >= walkDepth {
		return nil, nil
	}
	var out []string
	for _, k := range kids {
		if strings.HasSuffix(k, "/CloudTrail-Digest/") || strings.HasSuffix(k, "/CloudTrail-Insight/") {
			continue
		}
		ps, err := s.findParts(ctx, api, k, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

// listFolders lists the folders right under prefix.
func (s *Source) listFolders(ctx context.Context, api s3API, prefix string) ([]string, error) {
	var out []string
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.cfg.BackfillBucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")}
	for {
		cctx, cancel := s.apiCtx(ctx)
		page, err := api.ListObjectsV2(cctx, in)
		cancel()
		if err != nil {
			return nil, err
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, aws.ToString(cp.Prefix))
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			return out, nil
		}
		in.ContinuationToken = page.NextContinuationToken
	}
}

// backfillPart reads the files of one region folder, day by day, after the key saved last.
func (s *Source) backfillPart(ctx context.Context, api s3API, pub plugin.Publisher, store state.Store, part string, from, to time.Time,
	report func(plugin.BackfillProgress)) error {
	name := partName(s.cfg.BackfillPrefix, part)
	log := s.set.Logger.With("bucket", s.cfg.BackfillBucket, "part", name)
	last := ""
	if v, err := store.Get(ctx, partKey(part)); err == nil {
		last = string(v)
		log.Info("backfill resumes after the last file done", "key", last)
	} else if !errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("%s backfill: read the saved position of %s: %w", Type, name, err)
	}
	var total int64
	pos := from
	end := to.Add(DeliverySlack)
	for day := from.Truncate(24 * time.Hour); day.Before(end); day = day.Add(24 * time.Hour) {
		dayPrefix := part + day.Format("2006/01/02/")
		if last != "" && last > dayPrefix && !strings.HasPrefix(last, dayPrefix) {
			continue // the whole day was done
		}
		in := &s3.ListObjectsV2Input{Bucket: aws.String(s.cfg.BackfillBucket), Prefix: aws.String(dayPrefix)}
		if strings.HasPrefix(last, dayPrefix) {
			in.StartAfter = aws.String(last)
		}
		for {
			cctx, cancel := s.apiCtx(ctx)
			page, err := api.ListObjectsV2(cctx, in)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if fe := s.s3ConfigError(objectRef{Bucket: s.cfg.BackfillBucket, Key: dayPrefix}, err); fe != nil {
					return fe
				}
				return fmt.Errorf("%s backfill: listing s3://%s/%s: %w", Type, s.cfg.BackfillBucket, dayPrefix, err)
			}
			for _, obj := range page.Contents {
				key := aws.ToString(obj.Key)
				if m := deliveryRe.FindStringSubmatch(key); m != nil {
					if t, err := time.Parse("20060102T1504", m[1]); err == nil {
						if t.Before(from.Truncate(time.Minute)) || !t.Before(end) {
							continue
						}
						pos = t
					}
				}
				n, err := s.backfillFile(ctx, pub, objectRef{Bucket: s.cfg.BackfillBucket, Key: key, Region: s.region}, from, to, log)
				if err != nil || ctx.Err() != nil {
					return err
				}
				if err := store.Put(ctx, partKey(part), []byte(key)); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return fmt.Errorf("%s backfill: save the position of %s: %w", Type, name, err)
				}
				s.set.Metrics.Checkpoints.Inc()
				total += n
				report(plugin.BackfillProgress{Part: name, Records: total, Position: pos})
			}
			if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
				break
			}
			in.ContinuationToken = page.NextContinuationToken
		}
	}
	report(plugin.BackfillProgress{Part: name, Records: total, Position: to, Done: true})
	return nil
}

// backfillFile publishes the records of [from, to) of one file and waits until every batch of
// it was acknowledged, reading it again after a nack or a failed read. It returns how many
// records it published; 0 and no error when ctx ended.
func (s *Source) backfillFile(ctx context.Context, pub plugin.Publisher, ref objectRef, from, to time.Time, log *slog.Logger) (int64, error) {
	keep := func(rec *event.Record) bool {
		return rec.Kind != event.KindCloudTrail || (!rec.Time.Before(from) && rec.Time.Before(to))
	}
	for attempt := 1; ; attempt++ {
		var n int64
		done := make(chan bool, 1)
		t := newTracker(func(failed, _ bool) { done <- !failed })
		b := &batcher{s: s, pub: pub, t: t}
		err := s.readObject(ctx, ref, b, func(rec *event.Record) bool {
			if keep(rec) {
				n++
				return true
			}
			return false
		})
		switch {
		case err == nil:
			t.seal(false, false)
		case ctx.Err() != nil:
			t.seal(true, false)
			return 0, nil
		case isPoison(err):
			t.seal(false, false)
			if derr := s.dropObject(ctx, ref, "", err); derr != nil {
				return 0, fmt.Errorf("%s backfill: dead-letter s3://%s/%s: %w", Type, ref.Bucket, ref.Key, derr)
			}
		case plugin.IsFatal(err):
			t.seal(true, false)
			return 0, err
		default:
			t.seal(true, true)
			s.set.Metrics.Errors.Inc()
			log.Warn("a file could not be read; trying again", "key", ref.Key, "error", err)
		}
		select {
		case ok := <-done:
			if ok {
				return n, nil
			}
		case <-ctx.Done():
			return 0, nil
		}
		if !retry.Sleep(ctx, s.backoff(attempt)) {
			return 0, nil
		}
	}
}
