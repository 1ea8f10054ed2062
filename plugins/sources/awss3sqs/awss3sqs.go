// Package awss3sqs is the aws_s3_sqs source: it long-polls an SQS queue that receives a
// bucket's event notifications (direct, through SNS, or from EventBridge), reads each object
// announced (CloudTrail's gzip {"Records":[...]} log files, streamed), publishes its records,
// and deletes the message once every record of every object in it was acknowledged. While
// the records are being delivered it extends the message's visibility; on a nack it lets the
// message return to the queue at once, and on a crash when the visibility runs out. Delivery
// is at least once: a message received again (ApproximateReceiveCount > 1) is read again whole.
// Any number of workers and processes may share one queue. Backfill lists a bucket prefix
// instead (backfill.go).
package awss3sqs

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/time/rate"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/awssource"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Type is the plugin type name.
const Type = "aws_s3_sqs"

// Factory registers the source.
func Factory() plugin.Factory {
	return plugin.Factory{
		Type:      Type,
		Kind:      plugin.KindSource,
		Summary:   "reads CloudTrail log files from S3 as an SQS queue announces them (S3, SNS or EventBridge notifications), deleting a message once its records are delivered",
		NewConfig: NewConfig,
		NewSource: func(c plugin.Config, set plugin.Settings) (plugin.Source, error) {
			return New(c.(*Config), set)
		},
		Checks: true,
	}
}

// sqsAPI is the part of the SQS client the source uses.
type sqsAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// s3API is the part of the S3 client the source uses.
type s3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var (
	_ plugin.Source     = (*Source)(nil)
	_ plugin.Backfiller = (*Source)(nil)
	_ plugin.Checker    = (*Source)(nil)
	_ sqsAPI            = (*sqs.Client)(nil)
	_ s3API             = (*s3.Client)(nil)
)

// Source reads one queue.
type Source struct {
	cfg     *Config
	set     plugin.Settings
	region  string
	keyRe   *regexp.Regexp
	eps     *rate.Limiter // nil: no limit
	idents  *awssource.Identifiers
	tune    tuning
	s3mu    sync.Mutex
	s3s     map[string]s3API // by region
	sqsOnce sync.Once
	sqsc    sqsAPI
	sqsErr  error
}

// tuning holds what tests change.
type tuning struct {
	// newSQS and newS3 build the clients (default: the SDK's through awsauth).
	newSQS func(ctx context.Context) (sqsAPI, error)
	newS3  func(ctx context.Context, region string) (s3API, error)
	// stopGrace is how long Run waits at its end for the acknowledgements of the batches in
	// flight, before it returns their messages to the queue.
	stopGrace time.Duration
	// backoffBase is the first pause after a failed receive.
	backoffBase time.Duration
	// now is the clock of the 12 hours a message may stay hidden (maxVisibility) since its
	// receive.
	now           func() time.Time
	maxVisibility time.Duration
}

// New returns a source for a validated configuration.
func New(cfg *Config, set plugin.Settings) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", Type, err)
	}
	if err := cfg.AWS.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", Type, err)
	}
	s := &Source{cfg: cfg, set: set, region: cfg.region(), s3s: map[string]s3API{},
		tune: tuning{stopGrace: time.Second, backoffBase: time.Second, now: time.Now, maxVisibility: maxVisibility}}
	s.keyRe = regexp.MustCompile(cfg.KeyRegex) // Validate compiled it
	s.tune.newSQS, s.tune.newS3 = s.sdkSQS, s.sdkS3
	if n := cfg.EPSThrottle.Limit(); n > 0 {
		s.eps = rate.NewLimiter(rate.Limit(n), n)
	}
	if cfg.UseAsGatewayLogSource {
		ids, err := awssource.ParseIdentifierPatterns(cfg.LogSourceIdentifierPattern)
		if err != nil {
			return nil, fmt.Errorf("%s: log_source_identifier_pattern: %w", Type, err)
		}
		s.idents = ids
	}
	return s, nil
}

func (s *Source) sdkSQS(ctx context.Context) (sqsAPI, error) {
	cfg, err := awsauth.Load(ctx, s.cfg.AWS, s.region, awsauth.WithLogger(s.set.Logger))
	if err != nil {
		return nil, err
	}
	return sqs.NewFromConfig(cfg), nil
}

func (s *Source) sdkS3(ctx context.Context, region string) (s3API, error) {
	cfg, err := awsauth.Load(ctx, s.cfg.AWS, region, awsauth.WithLogger(s.set.Logger))
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = s.cfg.PathStyle }), nil
}

// sqsClient returns the queue's client, built once.
func (s *Source) sqsClient(ctx context.Context) (sqsAPI, error) {
	s.sqsOnce.Do(func() { s.sqsc, s.sqsErr = s.tune.newSQS(ctx) })
	if s.sqsErr != nil {
		return nil, plugin.Fatal(fmt.Errorf("%s: the AWS configuration: %w", Type, s.sqsErr))
	}
	return s.sqsc, nil
}

// s3Client returns the client of a bucket's region ("" for the queue's).
func (s *Source) s3Client(ctx context.Context, region string) (s3API, error) {
	if region == "" || s.cfg.AWS.Region != "" {
		region = s.region
	}
	s.s3mu.Lock()
	defer s.s3mu.Unlock()
	if c := s.s3s[region]; c != nil {
		return c, nil
	}
	c, err := s.tune.newS3(ctx, region)
	if err != nil {
		return nil, plugin.Fatal(fmt.Errorf("%s: the AWS configuration: %w", Type, err))
	}
	s.s3s[region] = c
	return c, nil
}

// logSource is the gateway log-source identifier of a record of ref ("" when the source is
// not a gateway): the first pattern that matches the record, else the default identifier,
// else the bucket.
func (s *Source) logSource(ref objectRef, raw []byte) string {
	if s.idents == nil {
		return ""
	}
	if ls, ok := s.idents.Match(string(raw)); ok {
		return ls
	}
	if s.cfg.DefaultLogSourceIdentifier != "" {
		return s.cfg.DefaultLogSourceIdentifier
	}
	return ref.Bucket
}

// waitEPS waits until n more records fit the eps_throttle.
func (s *Source) waitEPS(ctx context.Context, n int) error {
	if s.eps == nil {
		return nil
	}
	for n > 0 {
		k := min(n, s.eps.Burst())
		if err := s.eps.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// logger is the plugin's logger with the queue.
func (s *Source) logger() *slog.Logger {
	return s.set.Logger.With("queue_url", s.cfg.QueueURL)
}

// apiCtx bounds one call by api_timeout.
func (s *Source) apiCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.APITimeout)
}

// Check implements plugin.Checker for `validate --check`: the queue exists and its attributes
// can be read with these credentials.
func (s *Source) Check(ctx context.Context) error {
	api, err := s.sqsClient(ctx)
	if err != nil {
		return err
	}
	_, err = s.checkQueue(ctx, api)
	return err
}

// checkQueue reads the queue's attributes: a queue that does not exist, a denial or an
// endpoint that is no SQS is a fatal error naming the option to fix.
func (s *Source) checkQueue(ctx context.Context, api sqsAPI) (map[string]string, error) {
	cctx, cancel := s.apiCtx(ctx)
	defer cancel()
	out, err := api.GetQueueAttributes(cctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.cfg.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameVisibilityTimeout, sqstypes.QueueAttributeNameRedrivePolicy}})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if fe := s.configError("sqs:GetQueueAttributes", err, true); fe != nil {
			return nil, fe
		}
		return nil, fmt.Errorf("sqs:GetQueueAttributes on %s: %w", s.cfg.QueueURL, err)
	}
	return out.Attributes, nil
}
