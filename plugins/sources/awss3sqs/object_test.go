package awss3sqs

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugintest"
)

func TestParseObject(t *testing.T) {
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	file := `{"Records":[` + ctRecord("e1", at) + `,{"other":1},` + ctRecord("e2", at) + `]}`
	for _, tc := range []struct {
		name     string
		data     []byte
		wantIDs  []string
		poisoned string // part of the poison's message; "" for none
	}{
		{"gzip", gz([]byte(file)), []string{"e1", "b/k#1", "e2"}, ""},
		{"plain JSON", []byte(file), []string{"e1", "b/k#1", "e2"}, ""},
		{"fields around Records", gz([]byte(`{"a":[1,{"b":2}],"Records":[` + ctRecord("e1", at) + `],"z":"x"}`)), []string{"e1"}, ""},
		{"empty Records", gz([]byte(`{"Records":[]}`)), nil, ""},
		{"not gzip nor JSON", []byte("hello, world"), nil, "not a CloudTrail log file"},
		{"gzip of not JSON", gz([]byte("hello, world")), nil, "not a CloudTrail log file"},
		{"broken gzip header", []byte{0x1f, 0x8b, 1, 2, 3}, nil, "not gzip"},
		{"truncated gzip", gz([]byte(file))[:40], nil, "not a CloudTrail log file"},
		{"digest body (no Records)", gz([]byte(`{"digestStartTime":"x","logFiles":[]}`)), nil, "no Records array"},
		{"Records not an array", []byte(`{"Records":{}}`), nil, "not an array"},
		{"empty object", nil, nil, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Source{cfg: NewConfig().(*Config), set: plugintest.Settings(t, "x", nil)}
			o := &objectReader{s: s, ref: objectRef{Bucket: "b", Key: "k", Region: "us-east-1"}}
			var ids []string
			_, err := o.parse(tc.data, func(r *event.Record) error {
				ids = append(ids, r.ID)
				if r.Meta[MetaBucket] != "b" || r.Meta[MetaKey] != "k" || r.Meta[event.MetaAWSRegion] != "us-east-1" {
					t.Errorf("record %s: meta %v", r.ID, r.Meta)
				}
				if r.ID == "e1" && (r.Kind != event.KindCloudTrail || r.Subtype != "AwsApiCall" || !r.Time.Equal(at) || r.Parsed == nil) {
					t.Errorf("record e1: kind %q subtype %q time %s parsed %v", r.Kind, r.Subtype, r.Time, r.Parsed != nil)
				}
				if !event.ValidObject(string(r.Raw)) {
					t.Errorf("record %s: raw %s is not one JSON object", r.ID, r.Raw)
				}
				return nil
			})
			if tc.poisoned == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !isPoison(err) || !strings.Contains(err.Error(), tc.poisoned) {
				t.Fatalf("err = %v, want a poison error with %q", err, tc.poisoned)
			}
			if tc.wantIDs != nil && strings.Join(ids, ",") != strings.Join(tc.wantIDs, ",") {
				t.Errorf("ids %v, want %v", ids, tc.wantIDs)
			}
		})
	}
}

// bodyS3 answers GetObject with body, and ContentLength when length is not negative.
type bodyS3 struct {
	s3API
	body   []byte
	length int64
}

func (f bodyS3) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out := &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(f.body))}
	if f.length >= 0 {
		out.ContentLength = aws.Int64(f.length)
	}
	return out, nil
}

// An object larger than max_object_size is poison, whether its length is announced or not.
func TestFetchMaxObjectSize(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		length int64
		poison bool
	}{
		{"at the limit", 100, 100, false},
		{"announced too large", 101, 101, true},
		{"too large, length not announced", 101, -1, true},
		{"length not announced, within", 100, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewConfig().(*Config)
			cfg.MaxObjectSize = 100
			s := &Source{cfg: cfg, set: plugintest.Settings(t, "x", nil)}
			o := &objectReader{s: s, ref: objectRef{Bucket: "b", Key: "k"}}
			data, err := o.fetch(context.Background(), bodyS3{body: bytes.Repeat([]byte("x"), tc.size), length: tc.length})
			if tc.poison {
				if !isPoison(err) || !strings.Contains(err.Error(), "max_object_size") {
					t.Fatalf("err = %v, want a poison error naming max_object_size", err)
				}
				return
			}
			if err != nil || len(data) != tc.size {
				t.Fatalf("got %d bytes, %v", len(data), err)
			}
		})
	}
}
