package awss3sqs

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseNotice(t *testing.T) {
	direct := `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-west-1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"AWSLogs/1/CloudTrail/a+b%2Bc%3D.json.gz","size":10}}},` +
		`{"eventVersion":"2.3","eventSource":"aws:s3","awsRegion":"eu-west-1","eventName":"ObjectCreated:CompleteMultipartUpload","s3":{"bucket":{"name":"b"},"object":{"key":"k2"}}},` +
		`{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"gone"}}}]}`
	test := `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00.000Z","Bucket":"b","RequestId":"r","HostId":"h"}`
	sns := func(msg string) string {
		return `{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:1:t","Subject":"Amazon S3 Notification","Message":` + quote(msg) + `,"Timestamp":"2026-01-01T00:00:00.000Z"}`
	}
	eb := `{"version":"0","id":"i","detail-type":"Object Created","source":"aws.s3","account":"1","time":"2026-01-01T00:00:00Z","region":"us-west-2","resources":["arn:aws:s3:::b"],"detail":{"version":"0","bucket":{"name":"b"},"object":{"key":"a+b c.json.gz","size":5,"etag":"e"},"reason":"PutObject"}}`
	// moto's EventBridge event: time as a number, eTag, reason ObjectCreated.
	ebMoto := `{"version":"0","id":"i","detail-type":"Object Created","source":"aws.s3","account":"1","time":1767225600,"region":"us-east-1","resources":["arn:aws:s3:::b"],"detail":{"version":"0","bucket":{"name":"b"},"object":{"key":"k","size":5,"eTag":"e"},"reason":"ObjectCreated"}}`
	lake := `{"source":"aws.s3","region":"us-east-1","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}`
	ebDeleted := `{"version":"0","detail-type":"Object Deleted","source":"aws.s3","region":"us-east-1","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}`
	for _, tc := range []struct {
		name    string
		body    string
		want    notice
		wantErr bool
	}{
		{"direct, keys URL-decoded, a removal skipped", direct, notice{form: "s3", skipped: 1, objects: []objectRef{
			{Bucket: "b", Key: "AWSLogs/1/CloudTrail/a b+c=.json.gz", Region: "eu-west-1", Size: 10},
			{Bucket: "b", Key: "k2", Region: "eu-west-1"}}}, false},
		{"test event", test, notice{test: true, form: "s3"}, false},
		{"SNS-wrapped", sns(direct), notice{form: "sns", skipped: 1, objects: []objectRef{
			{Bucket: "b", Key: "AWSLogs/1/CloudTrail/a b+c=.json.gz", Region: "eu-west-1", Size: 10},
			{Bucket: "b", Key: "k2", Region: "eu-west-1"}}}, false},
		{"SNS-wrapped test event", sns(test), notice{test: true, form: "sns"}, false},
		{"EventBridge, key as it is", eb, notice{form: "eventbridge", objects: []objectRef{{Bucket: "b", Key: "a+b c.json.gz", Region: "us-west-2", Size: 5}}}, false},
		{"EventBridge as moto sends it", ebMoto, notice{form: "eventbridge", objects: []objectRef{{Bucket: "b", Key: "k", Region: "us-east-1", Size: 5}}}, false},
		{"Security Lake's shape without detail-type", lake, notice{form: "eventbridge", objects: []objectRef{{Bucket: "b", Key: "k", Region: "us-east-1"}}}, false},
		{"EventBridge deletion skipped", ebDeleted, notice{form: "eventbridge", skipped: 1}, false},
		{"empty Records", `{"Records":[]}`, notice{form: "s3"}, false},
		{"not JSON", `hello`, notice{}, true},
		{"other JSON", `{"hello":"world"}`, notice{}, true},
		{"object event without key", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{}}}]}`, notice{}, true},
		{"bad escape in key", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a%zz"}}}]}`, notice{}, true},
		{"SNS wrapping garbage", sns("nope"), notice{}, true},
		{"SNS in SNS", sns(sns(direct)), notice{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseNotice([]byte(tc.body))
			if tc.wantErr {
				if err == nil || !errors.Is(err, errNotNotification) {
					t.Fatalf("err = %v, want errNotNotification", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestIsDigest(t *testing.T) {
	for key, want := range map[string]bool{
		"AWSLogs/1/CloudTrail-Digest/us-east-1/2026/01/01/1_CloudTrail-Digest_us-east-1_t_us-east-1_20260101T000000Z.json.gz": true,
		"p/AWSLogs/o-1/1/CloudTrail-Digest/us-east-1/2026/01/01/x.json.gz":                                                    true,
		"AWSLogs/1/CloudTrail/us-east-1/2026/01/01/1_CloudTrail_us-east-1_20260101T0000Z_u.json.gz":                           false,
		"AWSLogs/1/CloudTrail-Insight/us-east-1/2026/01/01/x.json.gz":                                                         false,
	} {
		if got := isDigest(key); got != want {
			t.Errorf("isDigest(%q) = %v, want %v", key, got, want)
		}
	}
}

func quote(s string) string {
	b := []byte{'"'}
	for _, c := range []byte(s) {
		if c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return string(append(b, '"'))
}
