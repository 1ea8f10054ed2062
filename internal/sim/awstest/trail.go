package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/logshipper/logshipper/internal/sim/s3"
)

// Trail is a CloudTrail bucket whose new objects are notified to a queue that has a
// dead-letter queue, made through the S3 and SQS APIs so that it exists alike on cloudsim and on
// moto_server.
type Trail struct {
	Region   string
	Bucket   string
	QueueURL string
	QueueARN string
	DLQURL   string
	DLQARN   string
}

// TrailOptions shape NewTrail's queue.
type TrailOptions struct {
	Visibility time.Duration // the queue's visibility timeout (default 30 s)
	MaxReceive int           // receives before a message moves to the dead-letter queue (default 5)
	Prefix     string        // the notification's key prefix filter ("" for none)
}

// NewTrail creates bucket, queue and queue+"-dlq" in region, the redrive policy and the
// bucket's s3:ObjectCreated:* notification (which puts an s3:TestEvent on the queue).
func (b Backend) NewTrail(ctx context.Context, region, bucket, queue string, o TrailOptions) (Trail, error) {
	if o.Visibility <= 0 {
		o.Visibility = 30 * time.Second
	}
	if o.MaxReceive <= 0 {
		o.MaxReceive = 5
	}
	tr := Trail{Region: region, Bucket: bucket}
	q := b.SQSClient(region)
	mk := func(name string, attrs map[string]string) (string, string, error) {
		out, err := q.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			return "", "", fmt.Errorf("awstest: CreateQueue %s: %w", name, err)
		}
		a, err := q.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			return "", "", fmt.Errorf("awstest: GetQueueAttributes %s: %w", name, err)
		}
		return aws.ToString(out.QueueUrl), a.Attributes["QueueArn"], nil
	}
	var err error
	if tr.DLQURL, tr.DLQARN, err = mk(queue+"-dlq", nil); err != nil {
		return tr, err
	}
	policy, _ := json.Marshal(map[string]string{"deadLetterTargetArn": tr.DLQARN, "maxReceiveCount": strconv.Itoa(o.MaxReceive)})
	if tr.QueueURL, tr.QueueARN, err = mk(queue, map[string]string{
		"VisibilityTimeout": strconv.Itoa(int(o.Visibility / time.Second)), "RedrivePolicy": string(policy)}); err != nil {
		return tr, err
	}
	c := b.S3Client(region)
	in := &awss3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != s3.DefaultRegion {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := c.CreateBucket(ctx, in); err != nil {
		return tr, fmt.Errorf("awstest: CreateBucket %s: %w", bucket, err)
	}
	qc := s3types.QueueConfiguration{Id: aws.String("cloudtrail"), QueueArn: aws.String(tr.QueueARN), Events: []s3types.Event{"s3:ObjectCreated:*"}}
	if o.Prefix != "" {
		qc.Filter = &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{
			{Name: s3types.FilterRuleNamePrefix, Value: aws.String(o.Prefix)}}}}
	}
	if _, err := c.PutBucketNotificationConfiguration(ctx, &awss3.PutBucketNotificationConfigurationInput{Bucket: aws.String(bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{qc}}}); err != nil {
		return tr, fmt.Errorf("awstest: PutBucketNotificationConfiguration %s: %w", bucket, err)
	}
	return tr, nil
}

// PutCloudTrailFile uploads f into the trail's bucket with PutObject, under CloudTrail's key and
// as CloudTrail writes it (gzip-compressed {"Records":[...]}), and returns the key. It works on
// both backends; cloudsim's S3.PutCloudTrailFile does the same without HTTP.
func (b Backend) PutCloudTrailFile(ctx context.Context, tr Trail, f s3.CloudTrailFile) (string, error) {
	if f.Delivered.IsZero() {
		f.Delivered = time.Now()
	}
	data, err := s3.EncodeCloudTrailFile(f.Records)
	if err != nil {
		return "", err
	}
	key := s3.CloudTrailKey(f)
	if err := b.PutObject(ctx, tr, key, data); err != nil {
		return "", err
	}
	return key, nil
}

// PutObject uploads data under key into the trail's bucket (a poison object, a digest file).
func (b Backend) PutObject(ctx context.Context, tr Trail, key string, data []byte) error {
	_, err := b.S3Client(tr.Region).PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(tr.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), ContentType: aws.String("application/json")})
	if err != nil {
		return fmt.Errorf("awstest: PutObject %s: %w", key, err)
	}
	return nil
}
