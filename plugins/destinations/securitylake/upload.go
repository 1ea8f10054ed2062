package securitylake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// s3API is what the destination calls of S3.
type s3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, opts ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, opts ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, opts ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

var _ s3API = (*s3.Client)(nil)

// abortTimeout bounds the AbortMultipartUpload of a failed upload, which runs even when the
// context of the upload has ended.
const abortTimeout = 30 * time.Second

// objectUpload is the io.Writer a Parquet file is written into: it keeps at most about a part
// in memory and sends each part to S3 as it fills (uploadParts). An object that never fills a
// part is stored with one PutObject at the end; a larger one with a multipart upload, started
// by its first part and completed by finish. Nothing is visible in the bucket before finish
// succeeds.
type objectUpload struct {
	api      s3API
	bucket   string
	key      string
	partSize int
	metrics  *telemetry.PluginMetrics

	buf      bytes.Buffer
	uploadID string
	parts    []types.CompletedPart
	written  int64 // bytes written into the upload: sent in parts and in buf
	started  time.Time
}

// Write implements io.Writer: p is kept until a part is full.
func (u *objectUpload) Write(p []byte) (int, error) {
	n, _ := u.buf.Write(p)
	u.written += int64(n)
	return n, nil
}

// uploadParts sends what is kept as a part once it holds partSize bytes.
func (u *objectUpload) uploadParts(ctx context.Context) error {
	if u.buf.Len() < u.partSize {
		return nil
	}
	if u.uploadID == "" {
		u.started = time.Now()
		out, err := u.api.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
			Bucket: aws.String(u.bucket), Key: aws.String(u.key), ContentType: aws.String(contentType),
			// The SDK sends each part with its CRC32; S3 checks them again on completion.
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
		})
		if err != nil {
			return fmt.Errorf("CreateMultipartUpload s3://%s/%s: %w", u.bucket, u.key, err)
		}
		u.uploadID = aws.ToString(out.UploadId)
	}
	return u.uploadPart(ctx)
}

// uploadPart sends everything kept as the next part.
func (u *objectUpload) uploadPart(ctx context.Context) error {
	n := int32(len(u.parts) + 1)
	out, err := u.api.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: aws.String(u.bucket), Key: aws.String(u.key), UploadId: aws.String(u.uploadID),
		PartNumber: aws.Int32(n), Body: bytes.NewReader(u.buf.Bytes()), ContentLength: aws.Int64(int64(u.buf.Len())),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32, // the upload's, given to CompleteMultipartUpload
	})
	if err != nil {
		return fmt.Errorf("UploadPart %d of s3://%s/%s: %w", n, u.bucket, u.key, err)
	}
	u.parts = append(u.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n), ChecksumCRC32: out.ChecksumCRC32})
	u.buf.Reset()
	if u.metrics != nil {
		u.metrics.ObjectParts.Inc()
	}
	return nil
}

// finish stores the object: one PutObject when no part was sent, else the last part and
// CompleteMultipartUpload. Only its nil return means the object is stored. On an error a
// multipart upload is aborted, so that nothing of it stays (its parts are not billed).
func (u *objectUpload) finish(ctx context.Context) error {
	if u.uploadID == "" {
		start := time.Now()
		_, err := u.api.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(u.bucket), Key: aws.String(u.key), ContentType: aws.String(contentType),
			Body: bytes.NewReader(u.buf.Bytes()), ContentLength: aws.Int64(int64(u.buf.Len())),
		})
		if err != nil {
			return fmt.Errorf("PutObject s3://%s/%s: %w", u.bucket, u.key, err)
		}
		u.observe(start)
		return nil
	}
	if u.buf.Len() > 0 {
		if err := u.uploadPart(ctx); err != nil {
			return errors.Join(err, u.abort(ctx))
		}
	}
	// S3 may answer 200 and then an <Error> body (the failure came after the answer started):
	// the SDK reads the body of a 2xx answer and returns such an answer as an error, so only
	// a real success gets here with err nil. The upload stays open after such an answer or a
	// 5xx, and S3 asks clients to retry the completion: it is tried completeAttempts times
	// before the upload is aborted and its records written again.
	err := again(ctx, func(ctx context.Context) error {
		_, err := u.api.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: aws.String(u.bucket), Key: aws.String(u.key), UploadId: aws.String(u.uploadID),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: u.parts},
		})
		return err
	})
	if err != nil {
		return errors.Join(fmt.Errorf("CompleteMultipartUpload s3://%s/%s: %w", u.bucket, u.key, err), u.abort(ctx))
	}
	u.observe(u.started)
	return nil
}

// completeAttempts and completeBackoff bound the retries of a CompleteMultipartUpload or an
// AbortMultipartUpload that failed with the upload still open: 200 ms, 400 ms, 800 ms between
// the attempts.
const (
	completeAttempts = 4
	completeBackoff  = 200 * time.Millisecond
)

// again calls op until it succeeds, fails with an error completionRetryable does not take,
// completeAttempts calls were made, or ctx ends, waiting completeBackoff (doubling) between the
// calls; it returns op's last error.
func again(ctx context.Context, op func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil || attempt == completeAttempts || !completionRetryable(err) {
			return err
		}
		if !retry.Sleep(ctx, completeBackoff<<(attempt-1)) {
			return err
		}
	}
}

// completionRetryable reports whether a CompleteMultipartUpload error leaves the upload to be
// completed by another call: an <Error> in a 200 answer, or a 5xx (the SDK has retried those
// already, but its attempts are few and quick).
func completionRetryable(err error) bool {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	st := re.HTTPStatusCode()
	return st == http.StatusOK || st >= 500
}

// observe counts a stored object.
func (u *objectUpload) observe(start time.Time) {
	if u.metrics == nil {
		return
	}
	u.metrics.ObjectsWritten.Inc()
	u.metrics.ObjectBytes.Add(float64(u.written))
	if u.uploadID == "" {
		u.metrics.ObjectParts.Inc()
	}
	u.metrics.UploadDuration.Observe(time.Since(start).Seconds())
}

// abort aborts the multipart upload, if one was started; it runs even when ctx has ended, and
// is tried again as a completion is (an upload left open is billed until a lifecycle rule or
// the next run's stale-upload abort removes it).
func (u *objectUpload) abort(ctx context.Context) error {
	if u.uploadID == "" {
		return nil
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	err := again(actx, func(ctx context.Context) error {
		_, err := u.api.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(u.bucket), Key: aws.String(u.key), UploadId: aws.String(u.uploadID),
		})
		return err
	})
	var nsu *types.NoSuchUpload
	if err != nil && !errors.As(err, &nsu) {
		return fmt.Errorf("AbortMultipartUpload s3://%s/%s (a bucket lifecycle rule removes it later): %w", u.bucket, u.key, err)
	}
	return nil
}
