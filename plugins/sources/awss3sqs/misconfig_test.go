package awss3sqs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/awstest"
)

// A misconfiguration stops the source with an error naming the option to fix, and
// dead-letters nothing.
func TestMisconfigurationStops(t *testing.T) {
	eachBackend(t, func(t *testing.T, b awstest.Backend) {
		w := newWorld(t, b, 30)
		// denied answers every SQS call as SQS answers credentials it does not take.
		denied := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("Content-Type", "application/x-amz-json-1.0")
			rw.Header().Set("x-amzn-query-error", "AccessDenied;Sender")
			rw.WriteHeader(http.StatusForbidden)
			_, _ = rw.Write([]byte(`{"__type":"com.amazon.coral.service#AccessDeniedException","message":"not authorized to perform: sqs:getqueueattributes"}`))
		}))
		defer denied.Close()
		// notSQS is some other web server.
		notSQS := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("Content-Type", "text/html")
			rw.WriteHeader(http.StatusNotFound)
			_, _ = rw.Write([]byte(`<html>no such page</html>`))
		}))
		defer notSQS.Close()
		for _, tc := range []struct {
			name string
			edit func(*Config)
			want string
		}{
			{"queue does not exist", func(c *Config) { c.QueueURL = strings.TrimSuffix(c.QueueURL, "/") + "-nope" }, "queue_url: the queue"},
			{"access denied", func(c *Config) { c.AWS.Endpoint = denied.URL }, "access_key_id, assume_role_arn"},
			{"endpoint that is no SQS", func(c *Config) { c.AWS.Endpoint = notSQS.URL }, "endpoint, region, queue_url"},
			{"endpoint host that does not resolve", func(c *Config) { c.AWS.Endpoint = "http://nothing.invalid" }, "does not resolve"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cfg := w.config()
				tc.edit(cfg)
				set := settings(t, nil)
				drops := plugintest.DropperOf(t, set)
				run := plugintest.Start(t, w.source(t, cfg, set), plugintest.NewPublisher(plugintest.AckAsync))
				var err error
				plugintest.Eventually(t, 30*time.Second, "Run to return", func() bool { done, e := run.Done(); err = e; return done })
				if err == nil || !plugin.IsFatal(err) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Run returned %v; want a fatal error with %q", err, tc.want)
				}
				if n := len(drops.Drops()); n != 0 {
					t.Errorf("%d dead letters", n)
				}
			})
		}
	})
}

// validate --check reads the queue's attributes: nil for the queue, the same fatal error as
// Run for a queue that does not exist.
func TestCheck(t *testing.T) {
	eachBackend(t, func(t *testing.T, b awstest.Backend) {
		w := newWorld(t, b, 30)
		if err := w.source(t, w.config(), settings(t, nil)).Check(context.Background()); err != nil {
			t.Fatalf("Check of an existing queue: %v", err)
		}
		cfg := w.config()
		cfg.QueueURL += "-nope"
		err := w.source(t, cfg, settings(t, nil)).Check(context.Background())
		if !plugin.IsFatal(err) || !strings.Contains(err.Error(), "queue_url: the queue") {
			t.Fatalf("Check of a missing queue: %v", err)
		}
	})
}
