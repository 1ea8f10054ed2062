package awstest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/logshipper/logshipper/internal/sim/awstest"
	"github.com/logshipper/logshipper/internal/sim/s3"
)

// The trail a source's tests need is made and fed alike on cloudsim and on moto_server.
func TestTrailOnBoth(t *testing.T) {
	for _, b := range awstest.Both(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			for _, region := range []string{"us-east-1", "eu-west-1"} {
				tr, err := b.NewTrail(ctx, region, "trail-"+region, "events", awstest.TrailOptions{Visibility: time.Minute, MaxReceive: 3, Prefix: "AWSLogs/"})
				if err != nil {
					t.Fatal(err)
				}
				key, err := b.PutCloudTrailFile(ctx, tr, s3.CloudTrailFile{Account: b.Account, Region: region,
					Records: []json.RawMessage{json.RawMessage(`{"eventID":"e-1"}`)}})
				if err != nil {
					t.Fatal(err)
				}
				q := b.SQSClient(region)
				var bodies []string
				for len(bodies) < 2 {
					out, err := q.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(tr.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
					if err != nil {
						t.Fatal(err)
					}
					for _, m := range out.Messages {
						bodies = append(bodies, aws.ToString(m.Body))
					}
				}
				if !strings.Contains(bodies[0], "s3:TestEvent") {
					t.Fatalf("first message %s", bodies[0])
				}
				var ev struct {
					Records []struct {
						S3 struct {
							Object struct{ Key string } `json:"object"`
						} `json:"s3"`
					}
				}
				if err := json.Unmarshal([]byte(bodies[1]), &ev); err != nil || len(ev.Records) != 1 {
					t.Fatalf("notification %s: %v", bodies[1], err)
				}
				got, _ := url.QueryUnescape(ev.Records[0].S3.Object.Key)
				if got != key {
					t.Fatalf("notified %q, put %q", got, key)
				}
				out, err := b.S3Client(region).GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(tr.Bucket), Key: aws.String(got)})
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(out.Body)
				out.Body.Close()
				zr, err := gzip.NewReader(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				plain, _ := io.ReadAll(zr)
				if string(plain) != "{\"Records\":[{\"eventID\":\"e-1\"}]}\n" {
					t.Fatalf("content %q", plain)
				}
			}
		})
	}
}
