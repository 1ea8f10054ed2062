package s3

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// CloudTrailFile is a CloudTrail log file, as a trail delivers it to its bucket.
type CloudTrailFile struct {
	Prefix  string // the trail's S3 key prefix; "" for none
	OrgID   string // o-... for an organization trail; "" for an account trail
	Account string
	Region  string
	// Delivered is the delivery time written in the key (default: the service's clock).
	Delivered time.Time
	Records   []json.RawMessage
}

// randomSuffix returns n characters of [A-Za-z0-9]: the unique part of a CloudTrail file name.
func randomSuffix(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// trailBase is [prefix/]AWSLogs/[org/]<account>/.
func trailBase(prefix, org, account string) string {
	var b strings.Builder
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		b.WriteString(prefix + "/")
	}
	b.WriteString("AWSLogs/")
	if org != "" {
		b.WriteString(org + "/")
	}
	b.WriteString(account + "/")
	return b.String()
}

// CloudTrailKey returns the key CloudTrail gives a log file:
// [prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 characters>.json.gz.
func CloudTrailKey(f CloudTrailFile) string {
	t := f.Delivered.UTC()
	return trailBase(f.Prefix, f.OrgID, f.Account) + "CloudTrail/" + f.Region + "/" + t.Format("2006/01/02") + "/" +
		f.Account + "_CloudTrail_" + f.Region + "_" + t.Format("20060102T1504Z") + "_" + randomSuffix(16) + ".json.gz"
}

// gzipJSON returns v as gzip-compressed JSON.
func gzipJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// EncodeCloudTrailFile returns the content of a CloudTrail log file holding records:
// gzip-compressed {"Records":[...]}.
func EncodeCloudTrailFile(records []json.RawMessage) ([]byte, error) {
	if records == nil {
		records = []json.RawMessage{}
	}
	return gzipJSON(map[string]any{"Records": records})
}

// PutCloudTrailFile writes f into a bucket as CloudTrail does — gzip-compressed
// {"Records":[...]} under CloudTrailKey — and sends its ObjectCreated:Put notifications. It
// returns the key.
func (s *Service) PutCloudTrailFile(bucketName string, f CloudTrailFile) (string, error) {
	if f.Account == "" || f.Region == "" {
		return "", errors.New("s3: PutCloudTrailFile: Account and Region are needed")
	}
	if f.Delivered.IsZero() {
		f.Delivered = s.now()
	}
	data, err := EncodeCloudTrailFile(f.Records)
	if err != nil {
		return "", fmt.Errorf("s3: PutCloudTrailFile: %w", err)
	}
	key := CloudTrailKey(f)
	if _, err := s.putAs(bucketName, key, data, "application/json", "cloudtrail.amazonaws.com"); err != nil {
		return "", err
	}
	return key, nil
}

// putAs stores an object as a service principal would and notifies ObjectCreated:Put.
func (s *Service) putAs(bucketName, key string, data []byte, contentType, principal string) (string, error) {
	b := s.bucket(bucketName)
	if b == nil {
		return "", errNoBucket(bucketName)
	}
	o := &object{key: key, data: data, etag: etagOf(data), modified: s.now().UTC().Truncate(time.Millisecond), contentType: contentType}
	s.store(b, o, "ObjectCreated:Put", principal, "cloudtrail.amazonaws.com")
	return o.etag, nil
}

// CloudTrailDigest is a CloudTrail digest file: the hourly list of the log files delivered, for
// log file integrity validation. Readers of log files skip it.
type CloudTrailDigest struct {
	Prefix, OrgID, Account, Region string
	Trail                          string    // the trail's name
	End                            time.Time // the end of the hour covered (default: the clock)
	LogFiles                       []string  // keys of the log files covered, in Bucket
}

// DigestKey returns the key CloudTrail gives a digest file:
// [prefix/]AWSLogs/[o-org/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<trail>_<region>_<YYYYMMDDTHHMMSSZ>.json.gz.
func DigestKey(d CloudTrailDigest) string {
	t := d.End.UTC()
	return trailBase(d.Prefix, d.OrgID, d.Account) + "CloudTrail-Digest/" + d.Region + "/" + t.Format("2006/01/02") + "/" +
		d.Account + "_CloudTrail-Digest_" + d.Region + "_" + d.Trail + "_" + d.Region + "_" + t.Format("20060102T150405Z") + ".json.gz"
}

// PutCloudTrailDigest writes a digest file (a gzip-compressed JSON object with no Records) and
// sends its notifications. It returns the key.
func (s *Service) PutCloudTrailDigest(bucketName string, d CloudTrailDigest) (string, error) {
	if d.Account == "" || d.Region == "" {
		return "", errors.New("s3: PutCloudTrailDigest: Account and Region are needed")
	}
	if d.Trail == "" {
		d.Trail = "cloudsim-trail"
	}
	if d.End.IsZero() {
		d.End = s.now()
	}
	end := d.End.UTC()
	files := []map[string]string{}
	for _, k := range d.LogFiles {
		o, err := s.GetObject(bucketName, k)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(o.Data)
		files = append(files, map[string]string{"s3Bucket": bucketName, "s3Object": k, "hashValue": hex.EncodeToString(sum[:]),
			"hashAlgorithm": "SHA-256", "newestEventTime": end.Format(time.RFC3339), "oldestEventTime": end.Add(-time.Hour).Format(time.RFC3339)})
	}
	key := DigestKey(d)
	doc := map[string]any{
		"awsAccountId": d.Account, "digestStartTime": end.Add(-time.Hour).Format(time.RFC3339), "digestEndTime": end.Format(time.RFC3339),
		"digestS3Bucket": bucketName, "digestS3Object": key, "digestPublicKeyFingerprint": hex.EncodeToString(sha256.New().Sum(nil))[:32],
		"digestSignatureAlgorithm": "SHA256withRSA", "newestEventTime": end.Format(time.RFC3339), "oldestEventTime": end.Add(-time.Hour).Format(time.RFC3339),
		"previousDigestS3Bucket": nil, "previousDigestS3Object": nil, "previousDigestHashValue": nil,
		"previousDigestHashAlgorithm": nil, "previousDigestSignature": nil, "logFiles": files,
	}
	data, err := gzipJSON(doc)
	if err != nil {
		return "", fmt.Errorf("s3: PutCloudTrailDigest: %w", err)
	}
	if _, err := s.putAs(bucketName, key, data, "application/json", "cloudtrail.amazonaws.com"); err != nil {
		return "", err
	}
	return key, nil
}

// ReadCloudTrailRecords reads CloudTrail records: one per line (NDJSON) or concatenated, in
// CloudTrail log files {"Records":[...]}, or in JSON arrays, in any mix — the sample files
// cloudsim's CloudWatch Logs loads.
func ReadCloudTrailRecords(r io.Reader) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	var out []json.RawMessage
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("s3: CloudTrail records: %w", err)
		}
		v = bytes.TrimSpace(v)
		switch {
		case len(v) > 0 && v[0] == '[':
			var recs []json.RawMessage
			if err := json.Unmarshal(v, &recs); err != nil {
				return nil, fmt.Errorf("s3: CloudTrail records: %w", err)
			}
			out = append(out, recs...)
		case len(v) > 0 && v[0] == '{':
			var file struct {
				Records []json.RawMessage
			}
			if err := json.Unmarshal(v, &file); err == nil && file.Records != nil {
				out = append(out, file.Records...)
				continue
			}
			out = append(out, v)
		default:
			return nil, fmt.Errorf("s3: CloudTrail records: %.20s... is not a record", v)
		}
	}
}

// Generator makes CloudTrail log files out of sample records, for the demo and load tests:
// each file takes the next RecordsPerFile samples (cycling), each record a fresh eventID, its
// eventTime spread over the minute before delivery, and the file's account and region.
type Generator struct {
	Bucket         string
	Prefix, OrgID  string
	Account        string
	Regions        []string // a file per region each round (default us-east-1)
	Samples        []json.RawMessage
	RecordsPerFile int // default 10

	mu   sync.Mutex
	next int
}

// Files returns one file per region, delivered at now.
func (g *Generator) Files(now time.Time) ([]CloudTrailFile, error) {
	if len(g.Samples) == 0 {
		return nil, errors.New("s3: generator: no sample records")
	}
	n := g.RecordsPerFile
	if n <= 0 {
		n = 10
	}
	regions := g.Regions
	if len(regions) == 0 {
		regions = []string{DefaultRegion}
	}
	var files []CloudTrailFile
	for _, region := range regions {
		f := CloudTrailFile{Prefix: g.Prefix, OrgID: g.OrgID, Account: g.Account, Region: region, Delivered: now}
		for i := range n {
			g.mu.Lock()
			sample := g.Samples[g.next%len(g.Samples)]
			g.next++
			g.mu.Unlock()
			var rec map[string]any
			if err := json.Unmarshal(sample, &rec); err != nil {
				return nil, fmt.Errorf("s3: generator: a sample is not a JSON object: %w", err)
			}
			t := now.Add(-time.Minute + time.Duration(i)*time.Minute/time.Duration(n)).UTC()
			rec["eventID"] = awssim.NewRequestID()
			rec["eventTime"] = t.Format(time.RFC3339)
			rec["awsRegion"] = region
			rec["recipientAccountId"] = g.Account
			b, err := json.Marshal(rec)
			if err != nil {
				return nil, fmt.Errorf("s3: generator: %w", err)
			}
			f.Records = append(f.Records, b)
		}
		files = append(files, f)
	}
	return files, nil
}

// Generate writes a round of g's files now and returns their keys.
func (s *Service) Generate(g *Generator) ([]string, error) {
	files, err := g.Files(s.now())
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, f := range files {
		k, err := s.PutCloudTrailFile(g.Bucket, f)
		if err != nil {
			return keys, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// RunGenerator writes a round of g's files every interval until ctx ends.
func (s *Service) RunGenerator(ctx context.Context, g *Generator, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Generate(g); err != nil {
				s.logger.Warn("s3: CloudTrail generator", "bucket", g.Bucket, "error", err)
			}
		}
	}
}
