// Package awstest runs the same AWS client tests against cloudsim's S3 and SQS and against
// moto_server, an independent implementation, so that the simulator is held to more than its
// own reading of the documentation. Tests build a Backend with Sim or Moto (or both with Both),
// make SDK clients with S3Client and SQSClient, run the aws CLI with CLI, and set up a CloudTrail
// bucket notifying a queue with a dead-letter queue, fed with CloudTrail files, with NewTrail and
// PutCloudTrailFile, through the APIs, so that the same test runs on either.
package awstest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/s3"
	"github.com/logshipper/logshipper/internal/sim/sqs"
)

// Backend is an S3 and SQS endpoint with the credentials it accepts.
type Backend struct {
	Name      string // "cloudsim" or "moto"
	Endpoint  string // http://127.0.0.1:port
	Account   string
	AccessKey string
	Secret    string
	// S3 and SQS are cloudsim's services (nil for moto).
	S3  *s3.Service
	SQS *sqs.Service
}

// IsMoto reports whether b is moto_server.
func (b Backend) IsMoto() bool { return b.Name == "moto" }

// Account and keys of Sim's backend.
const (
	SimAccount   = "111122223333"
	SimAccessKey = "AKIAAWSTESTEXAMPLE01"
	SimSecret    = "awstest/secret/key/for/cloudsim/only/0000"
	// MotoAccount is moto_server's default account.
	MotoAccount = "123456789012"
)

// SimOptions adjust Sim's services.
type SimOptions struct {
	S3  s3.Options
	SQS sqs.Options
}

// Sim serves cloudsim's S3 and SQS behind SigV4 verification on a loopback port for the test's
// lifetime. opts may adjust the services (their Queues is set by Sim).
func Sim(t testing.TB, opts ...func(*SimOptions)) Backend {
	t.Helper()
	var o SimOptions
	for _, f := range opts {
		f(&o)
	}
	keys := awssim.NewKeyring(awssim.Credential{AccessKeyID: SimAccessKey, SecretAccessKey: SimSecret, AccountID: SimAccount,
		ARN: "arn:aws:iam::" + SimAccount + ":user/awstest", UserID: awssim.StableID("AIDA", "awstest")})
	q := sqs.New(o.SQS)
	o.S3.Queues = q
	st := s3.New(o.S3)
	rt := awssim.NewRouter(awssim.NewVerifier(keys))
	rt.Handle("s3", st, awssim.RouteErrors(s3.Errors))
	rt.Handle("sqs", q, awssim.RouteErrors(sqs.Errors))
	srv := httptest.NewServer(rt)
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return Backend{Name: "cloudsim", Endpoint: srv.URL, Account: SimAccount, AccessKey: SimAccessKey, Secret: SimSecret, S3: st, SQS: q}
}

// MotoHint is what a test says when moto_server is missing.
const MotoHint = "moto_server (moto 5.2.1) is not on PATH: run scripts/setup.sh, which installs it (pip install 'moto[server]==5.2.1')"

// motoListening is the line moto_server (werkzeug) prints once it listens.
var motoListening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// Moto starts moto_server on a loopback port it picks itself (-p 0; the port is read from its
// output, so no other process can take it between a pick and the bind) for the test's lifetime,
// its output in the test's temporary directory. A missing moto_server fails the test.
func Moto(t testing.TB) Backend {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatal(MotoHint)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "moto.log"))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("moto_server: %v", err)
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.CloseWithError(err)
		exited <- err
	}()
	endpoint := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if m := motoListening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case endpoint <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		<-copied
		logf.Close()
	})
	var url string
	select {
	case url = <-endpoint:
	case err := <-exited:
		t.Fatalf("moto_server stopped by itself: %v (log %s)", err, logf.Name())
	case <-time.After(60 * time.Second):
		t.Fatalf("moto_server did not say where it listens within 60 s (log %s)", logf.Name())
	}
	resp, err := http.Get(url + "/moto-api/")
	if err != nil {
		t.Fatalf("moto_server at %s: %v", url, err)
	}
	resp.Body.Close()
	return Backend{Name: "moto", Endpoint: url, Account: MotoAccount, AccessKey: "testing", Secret: "testing"}
}

// Both returns cloudsim's backend and moto_server's, for tests that run on each.
func Both(t testing.TB, opts ...func(*SimOptions)) []Backend {
	t.Helper()
	return []Backend{Sim(t, opts...), Moto(t)}
}

func (b Backend) config(region string) aws.Config {
	return aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(b.AccessKey, b.Secret, ""),
		BaseEndpoint: aws.String(b.Endpoint)}
}

// S3Client returns an SDK S3 client of b in region, path-style (as the shipper uses a custom
// endpoint).
func (b Backend) S3Client(region string, opts ...func(*awss3.Options)) *awss3.Client {
	return awss3.NewFromConfig(b.config(region), append([]func(*awss3.Options){func(o *awss3.Options) { o.UsePathStyle = true }}, opts...)...)
}

// SQSClient returns an SDK SQS client of b in region.
func (b Backend) SQSClient(region string, opts ...func(*awssqs.Options)) *awssqs.Client {
	return awssqs.NewFromConfig(b.config(region), opts...)
}

// CLI runs the aws command line against b with args (--endpoint-url and the region added) and
// returns its standard output. A missing aws CLI fails the test.
func (b Backend) CLI(ctx context.Context, t testing.TB, region string, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Fatal("the aws CLI is not on PATH: run scripts/setup.sh")
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"--endpoint-url", b.Endpoint, "--region", region, "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+b.AccessKey, "AWS_SECRET_ACCESS_KEY="+b.Secret, "AWS_SESSION_TOKEN=",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	var stderr []byte
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	if err != nil {
		return string(out), fmt.Errorf("aws %v: %w: %s", args, err, stderr)
	}
	return string(out), nil
}
