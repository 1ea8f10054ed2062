package cloudsim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/s3"
	"github.com/logshipper/logshipper/internal/sim/sqs"
)

// SQSConfig is SQS: queues created at start, and faults.
type SQSConfig struct {
	Queues []SQSQueueConfig `yaml:"queues"`
	Faults SQSFaults        `yaml:"faults"`
}

// SQSQueueConfig is one standard queue.
type SQSQueueConfig struct {
	Name    string `yaml:"name"`
	Account string `yaml:"account"` // default: the first account
	Region  string `yaml:"region"`  // default: us-east-1
	// VisibilityTimeout is the queue's default (SQS's default: 30s).
	VisibilityTimeout time.Duration `yaml:"visibility_timeout"`
	// DeadLetterQueue names a queue of the same account and region that gets a message
	// received MaxReceiveCount times (the redrive policy).
	DeadLetterQueue string `yaml:"dead_letter_queue"`
	MaxReceiveCount int    `yaml:"max_receive_count"` // default 5 when DeadLetterQueue is set
	// Attributes are more queue attributes, as the API names them (MessageRetentionPeriod ...).
	Attributes map[string]string `yaml:"attributes"`
}

// SQSFaults injects failures on a share of requests.
type SQSFaults struct {
	ThrottleRate      float64       `yaml:"throttle_rate"`
	UnavailableRate   float64       `yaml:"unavailable_rate"`
	InternalErrorRate float64       `yaml:"internal_error_rate"`
	Latency           time.Duration `yaml:"latency"` // added to every request
	SlowRate          float64       `yaml:"slow_rate"`
	SlowDelay         time.Duration `yaml:"slow_delay"`
	CutRate           float64       `yaml:"cut_rate"`
	Ops               []string      `yaml:"ops"`
}

// S3Config is S3: buckets, their event notifications, CloudTrail files, and faults.
type S3Config struct {
	Buckets       []S3BucketConfig       `yaml:"buckets"`
	Notifications []S3NotificationConfig `yaml:"notifications"`
	// CloudTrail writes CloudTrail log files made of sample records into buckets.
	CloudTrail []S3CloudTrailConfig `yaml:"cloudtrail"`
	// NotifyDelay delays each event notification (S3 takes seconds).
	NotifyDelay time.Duration `yaml:"notify_delay"`
	// MinPartSize overrides S3's 5 MiB minimum size of a multipart upload's parts but the last.
	MinPartSize int64    `yaml:"min_part_size"`
	Faults      S3Faults `yaml:"faults"`
}

// S3BucketConfig is one bucket.
type S3BucketConfig struct {
	Name    string `yaml:"name"`
	Account string `yaml:"account"` // default: the first account
	Region  string `yaml:"region"`  // default: us-east-1
}

// S3NotificationConfig sends a bucket's events to a queue.
type S3NotificationConfig struct {
	Bucket string `yaml:"bucket"`
	// Queue is a queue's ARN, or the name of a queue in the bucket's account and region.
	Queue  string   `yaml:"queue"`
	Events []string `yaml:"events"` // default [s3:ObjectCreated:*]
	Prefix string   `yaml:"prefix"`
	Suffix string   `yaml:"suffix"`
	// Format shapes the messages: s3 (default; S3 → SQS), sns (S3 → SNS → SQS) or eventbridge
	// (S3 → EventBridge → SQS).
	Format string `yaml:"format"`
}

// S3CloudTrailConfig writes CloudTrail log files into a bucket: Rounds rounds at start, then
// one round every Interval (0: none), a round being one file per region of RecordsPerFile
// records taken from the samples in File.
type S3CloudTrailConfig struct {
	Bucket         string        `yaml:"bucket"`
	Prefix         string        `yaml:"prefix"`
	OrgID          string        `yaml:"org_id"`
	Account        string        `yaml:"account"` // default: the first account
	Regions        []string      `yaml:"regions"` // default: [us-east-1]
	File           string        `yaml:"file"`    // CloudTrail records: NDJSON, {"Records":[...]} or arrays
	RecordsPerFile int           `yaml:"records_per_file"`
	Rounds         int           `yaml:"rounds"`
	Interval       time.Duration `yaml:"interval"`
}

// S3Faults injects failures on a share of requests.
type S3Faults struct {
	SlowDownRate        float64       `yaml:"slow_down_rate"`
	InternalErrorRate   float64       `yaml:"internal_error_rate"`
	UnavailableRate     float64       `yaml:"unavailable_rate"`
	CompleteErrorRate   float64       `yaml:"complete_error_rate"`
	Latency             time.Duration `yaml:"latency"` // added to every request
	SlowRate            float64       `yaml:"slow_rate"`
	SlowDelay           time.Duration `yaml:"slow_delay"`
	CutRate             float64       `yaml:"cut_rate"`
	DuplicateNotifyRate float64       `yaml:"duplicate_notify_rate"`
	Ops                 []string      `yaml:"ops"`
}

// Demo names of the default configuration's CloudTrail bucket and queues.
const (
	DemoTrailBucket = "cloudsim-cloudtrail"
	DemoTrailQueue  = "cloudsim-cloudtrail-events"
	DemoTrailDLQ    = "cloudsim-cloudtrail-dlq"
	// DemoLakeBucket is an Amazon Security Lake bucket (aws-security-data-lake-<region>-<id>),
	// for the aws_security_lake destination.
	DemoLakeBucket = "aws-security-data-lake-us-east-1-cloudsim"
)

// DefaultSQS has the demo's CloudTrail notification queue and its dead-letter queue.
func DefaultSQS() SQSConfig {
	return SQSConfig{Queues: []SQSQueueConfig{
		{Name: DemoTrailDLQ},
		{Name: DemoTrailQueue, VisibilityTimeout: 5 * time.Minute, DeadLetterQueue: DemoTrailDLQ, MaxReceiveCount: 5},
	}}
}

// DefaultS3 has the demo's CloudTrail bucket, notifying DemoTrailQueue of new objects, and its
// Security Lake bucket.
func DefaultS3() S3Config {
	return S3Config{
		Buckets:       []S3BucketConfig{{Name: DemoTrailBucket}, {Name: DemoLakeBucket}},
		Notifications: []S3NotificationConfig{{Bucket: DemoTrailBucket, Queue: DemoTrailQueue}},
	}
}

// SQSService is the running SQS.
type SQSService = sqs.Service

// S3Service is the running S3.
type S3Service = s3.Service

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func newSQS(c SQSConfig, seed int64, defaultAccount string, logger *slog.Logger) (*SQSService, error) {
	f := c.Faults
	s := sqs.New(sqs.Options{Seed: uint64(seed) + 3, Logger: logger, Faults: sqs.Faults{
		ThrottleRate: f.ThrottleRate, UnavailableRate: f.UnavailableRate, InternalErrorRate: f.InternalErrorRate,
		Latency: f.Latency, SlowRate: f.SlowRate, SlowDelay: f.SlowDelay, CutRate: f.CutRate, Ops: f.Ops}})
	for i, q := range c.Queues {
		account, region := orDefault(q.Account, defaultAccount), orDefault(q.Region, s3.DefaultRegion)
		attrs := map[string]string{}
		for k, v := range q.Attributes {
			attrs[k] = v
		}
		if q.VisibilityTimeout > 0 {
			attrs["VisibilityTimeout"] = strconv.Itoa(int(q.VisibilityTimeout / time.Second))
		}
		if q.DeadLetterQueue != "" {
			n := q.MaxReceiveCount
			if n <= 0 {
				n = 5
			}
			p, _ := json.Marshal(map[string]string{"deadLetterTargetArn": sqs.ARN(account, region, q.DeadLetterQueue), "maxReceiveCount": strconv.Itoa(n)})
			attrs["RedrivePolicy"] = string(p)
		}
		if _, err := s.CreateQueue(sqs.QueueConfig{Account: account, Region: region, Name: q.Name, Attributes: attrs}); err != nil {
			return nil, fmt.Errorf("cloudsim config: aws.sqs.queues[%d] %s: %w", i, q.Name, err)
		}
	}
	for i, q := range c.Queues {
		if q.DeadLetterQueue != "" && !s.QueueExists(sqs.ARN(orDefault(q.Account, defaultAccount), orDefault(q.Region, s3.DefaultRegion), q.DeadLetterQueue)) {
			return nil, fmt.Errorf("cloudsim config: aws.sqs.queues[%d] %s: dead_letter_queue %s is not a queue of the same account and region", i, q.Name, q.DeadLetterQueue)
		}
	}
	return s, nil
}

// s3Runner holds the S3 service and stops its CloudTrail generators.
type s3Runner struct {
	svc     *S3Service
	stop    context.CancelFunc
	running sync.WaitGroup
}

func newS3(c S3Config, seed int64, defaultAccount string, queues *SQSService, logger *slog.Logger) (*s3Runner, error) {
	f := c.Faults
	svc := s3.New(s3.Options{Queues: queues, NotifyDelay: c.NotifyDelay, MinPartSize: c.MinPartSize, Seed: uint64(seed) + 5, Logger: logger,
		Faults: s3.Faults{SlowDownRate: f.SlowDownRate, InternalErrorRate: f.InternalErrorRate, UnavailableRate: f.UnavailableRate,
			CompleteErrorRate: f.CompleteErrorRate, Latency: f.Latency, SlowRate: f.SlowRate, SlowDelay: f.SlowDelay, CutRate: f.CutRate,
			DuplicateNotifyRate: f.DuplicateNotifyRate, Ops: f.Ops}})
	regions := map[string][2]string{} // bucket -> account, region
	for i, b := range c.Buckets {
		account, region := orDefault(b.Account, defaultAccount), orDefault(b.Region, s3.DefaultRegion)
		if err := svc.CreateBucket(account, region, b.Name); err != nil {
			return nil, fmt.Errorf("cloudsim config: aws.s3.buckets[%d] %s: %w", i, b.Name, err)
		}
		regions[b.Name] = [2]string{account, region}
	}
	byBucket := map[string][]s3.Notification{}
	var order []string
	for i, n := range c.Notifications {
		where, ok := regions[n.Bucket]
		if !ok {
			return nil, fmt.Errorf("cloudsim config: aws.s3.notifications[%d]: bucket %q is not in aws.s3.buckets", i, n.Bucket)
		}
		arn := n.Queue
		if !strings.HasPrefix(arn, "arn:") {
			arn = sqs.ARN(where[0], where[1], n.Queue)
		}
		if _, ok := byBucket[n.Bucket]; !ok {
			order = append(order, n.Bucket)
		}
		byBucket[n.Bucket] = append(byBucket[n.Bucket], s3.Notification{Queue: arn, Events: n.Events, Prefix: n.Prefix, Suffix: n.Suffix, Format: n.Format})
	}
	for _, b := range order {
		if err := svc.SetNotifications(b, byBucket[b]); err != nil {
			return nil, fmt.Errorf("cloudsim config: aws.s3.notifications of bucket %s: %w", b, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &s3Runner{svc: svc, stop: cancel}
	for i, ct := range c.CloudTrail {
		if _, ok := regions[ct.Bucket]; !ok {
			r.close()
			return nil, fmt.Errorf("cloudsim config: aws.s3.cloudtrail[%d]: bucket %q is not in aws.s3.buckets", i, ct.Bucket)
		}
		if ct.File == "" {
			r.close()
			return nil, fmt.Errorf("cloudsim config: aws.s3.cloudtrail[%d]: file (sample CloudTrail records) is needed", i)
		}
		fh, err := os.Open(ct.File)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("cloudsim config: aws.s3.cloudtrail[%d]: %w", i, err)
		}
		samples, err := s3.ReadCloudTrailRecords(fh)
		fh.Close()
		if err != nil {
			r.close()
			return nil, fmt.Errorf("cloudsim config: aws.s3.cloudtrail[%d] %s: %w", i, ct.File, err)
		}
		g := &s3.Generator{Bucket: ct.Bucket, Prefix: ct.Prefix, OrgID: ct.OrgID, Account: orDefault(ct.Account, defaultAccount),
			Regions: ct.Regions, Samples: samples, RecordsPerFile: ct.RecordsPerFile}
		for range ct.Rounds {
			if _, err := svc.Generate(g); err != nil {
				r.close()
				return nil, fmt.Errorf("cloudsim config: aws.s3.cloudtrail[%d]: %w", i, err)
			}
		}
		if ct.Interval > 0 {
			r.running.Add(1)
			go func() {
				defer r.running.Done()
				svc.RunGenerator(ctx, g, ct.Interval)
			}()
		}
	}
	return r, nil
}

// close stops the generators and waits for delayed notifications.
func (r *s3Runner) close() {
	r.stop()
	r.running.Wait()
	r.svc.Close()
}

func registerS3SQS(rt *awssim.Router, s3svc *S3Service, sqsSvc *SQSService) {
	rt.Handle("s3", s3svc, awssim.RouteErrors(s3.Errors))
	rt.Handle("sqs", sqsSvc, awssim.RouteErrors(sqs.Errors))
}

func (s *Sim) registerS3SQSAdmin(mux *http.ServeMux) {
	if s.S3 != nil {
		mux.HandleFunc("GET /s3/stats", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, s.S3.Stats())
		})
		mux.HandleFunc("POST /s3/cloudtrail/{bucket}", s.adminPutCloudTrail)
		mux.HandleFunc("PUT /s3/objects/{bucket}/{key...}", s.adminPutObject)
		mux.HandleFunc("PUT /s3/notifications/{bucket}", s.adminSetNotifications)
	}
	if s.SQS != nil {
		mux.HandleFunc("GET /sqs/stats", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, s.SQS.Stats())
		})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeAdminError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// adminBodyLimit bounds the bodies of the admin endpoints.
const adminBodyLimit = 64 << 20

// adminPutCloudTrail writes the records of the body (NDJSON, {"Records":[...]} or arrays) as one
// CloudTrail log file: POST /s3/cloudtrail/<bucket>?account=&region=&prefix=&org_id=. Account
// defaults to the first account, region to us-east-1. It answers {"key":...}.
func (s *Sim) adminPutCloudTrail(w http.ResponseWriter, r *http.Request) {
	recs, err := s3.ReadCloudTrailRecords(http.MaxBytesReader(w, r.Body, adminBodyLimit))
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, err)
		return
	}
	q := r.URL.Query()
	key, err := s.S3.PutCloudTrailFile(r.PathValue("bucket"), s3.CloudTrailFile{Prefix: q.Get("prefix"), OrgID: q.Get("org_id"),
		Account: orDefault(q.Get("account"), s.cfg.AWS.Accounts[0].ID), Region: orDefault(q.Get("region"), s3.DefaultRegion), Records: recs})
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"key": key})
}

// adminPutObject stores the body as an object, as its bucket's owner would, and notifies:
// PUT /s3/objects/<bucket>/<key>. It answers {"etag":...}.
func (s *Sim) adminPutObject(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, adminBodyLimit))
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, err)
		return
	}
	etag, err := s.S3.PutObject(r.PathValue("bucket"), r.PathValue("key"), body, r.Header.Get("Content-Type"))
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"etag": etag})
}

// adminSetNotifications replaces a bucket's notifications with the body's JSON list
// [{"queue":"<name or ARN>","format":"s3|sns|eventbridge","events":[...],"prefix","suffix"}]
// and sends the test events: PUT /s3/notifications/<bucket>.
func (s *Sim) adminSetNotifications(w http.ResponseWriter, r *http.Request) {
	var in []struct {
		Queue  string   `json:"queue"`
		Format string   `json:"format"`
		Events []string `json:"events"`
		Prefix string   `json:"prefix"`
		Suffix string   `json:"suffix"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeAdminError(w, http.StatusBadRequest, fmt.Errorf("notifications: %w", err))
		return
	}
	bucket := r.PathValue("bucket")
	account, region, ok := s.S3.BucketOwner(bucket)
	if !ok {
		writeAdminError(w, http.StatusNotFound, fmt.Errorf("no bucket %s", bucket))
		return
	}
	ns := make([]s3.Notification, len(in))
	for i, n := range in {
		arn := n.Queue
		if !strings.HasPrefix(arn, "arn:") {
			arn = sqs.ARN(account, region, n.Queue)
		}
		ns[i] = s3.Notification{Queue: arn, Format: n.Format, Events: n.Events, Prefix: n.Prefix, Suffix: n.Suffix}
	}
	if err := s.S3.SetNotifications(bucket, ns); err != nil {
		writeAdminError(w, http.StatusBadRequest, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
