package loadrun

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// The moto backend: the CloudTrail journey's backlog in moto_server's CloudWatch Logs instead
// of cloudsim's. The run starts moto_server on a free port, loads the backlog with
// PutLogEvents, and points the shipper (the source's endpoint option) and the peer
// (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS) at it.

// The backends of the CloudTrail journey's backlog.
const (
	BackendCloudsim = "cloudsim"
	BackendMoto     = "moto"
)

// ParseBackend checks a -backend value: "" or "cloudsim" (cloudsim), or "moto".
func ParseBackend(s string) (string, error) {
	switch s {
	case "", BackendCloudsim, BackendMoto:
		return s, nil
	}
	return "", fmt.Errorf("loadrun: unknown backend %q (want cloudsim or moto)", s)
}

// checkMoto fails when the moto backend is asked for and moto_server is not there.
func checkMoto(o Options) error {
	if o.Backend != BackendMoto {
		return nil
	}
	if _, err := exec.LookPath(o.MotoBin); err != nil {
		return fmt.Errorf("loadrun: -backend moto needs moto_server (-moto-bin %q): %w (pip install 'moto[server]')", o.MotoBin, err)
	}
	return nil
}

// PutLogEvents' limits (the CloudWatch Logs API reference): at most 10,000 events and
// 1,048,576 bytes a call, each event counting its UTF-8 message and 26 bytes, spanning at
// most 24 hours, in chronological order.
const (
	putMaxEvents   = 10_000
	putMaxBytes    = 1_048_576
	putEventExtra  = 26
	putMaxTimeSpan = 24 * time.Hour
)

// putEvent is an event of the backlog to put into moto_server: its message shares the bytes of
// the journey's record, so that the backlog is held once by this process (a million
// CloudTrail records are about 1.4 GB); each PutLogEvents call copies only its own batch.
type putEvent struct {
	Timestamp int64 // ms since the epoch
	Message   []byte
}

// putBatches splits events, in chronological order, into PutLogEvents calls within its limits.
// An event too large for any call is an error.
func putBatches(events []putEvent) ([][]putEvent, error) {
	var out [][]putEvent
	first, size := 0, 0
	for i, e := range events {
		n := len(e.Message) + putEventExtra
		if n > putMaxBytes {
			return nil, fmt.Errorf("an event of %d bytes is over PutLogEvents' limit of %d", n, putMaxBytes)
		}
		if i > first && (i-first == putMaxEvents || size+n > putMaxBytes ||
			time.Duration(e.Timestamp-events[first].Timestamp)*time.Millisecond > putMaxTimeSpan) {
			out = append(out, events[first:i])
			first, size = i, 0
		}
		size += n
	}
	if first < len(events) {
		out = append(out, events[first:])
	}
	return out, nil
}

// motoServer is a moto_server process the run started.
type motoServer struct {
	p   *shipper
	log *os.File
	url string
}

// startMoto starts moto_server (bin) on a free port of 127.0.0.1, its output to logPath, and
// waits until it answers.
func startMoto(bin, logPath string) (*motoServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("moto_server: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, fmt.Errorf("moto_server's log: %w", err)
	}
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("moto_server's log: %w", err)
	}
	p, err := startProcess(bin, []string{"-H", host, "-p", port}, lf, nil)
	if err != nil {
		lf.Close()
		return nil, err
	}
	m := &motoServer{p: p, log: lf, url: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return m, nil
		}
		if perr := p.exited(); perr != nil {
			m.close()
			return nil, fmt.Errorf("moto_server stopped by itself (%v); see %s", perr, logPath)
		}
		if time.Now().After(deadline) {
			m.close()
			return nil, fmt.Errorf("moto_server did not answer at %s within 30 s: %w", m.url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// load creates the journey's log group and streams and puts the events, by region index of
// trailRegions, with PutLogEvents.
func (m *motoServer) load(ctx context.Context, account string, byRegion [][]putEvent) error {
	for r, evs := range byRegion {
		region := trailRegions[r]
		c := logsClient(m.url, region)
		stream := cwlogs.CloudTrailStream(account, region)
		if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(trailGroup)}); err != nil {
			return fmt.Errorf("moto_server: CreateLogGroup in %s: %w", region, err)
		}
		if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
			LogGroupName: aws.String(trailGroup), LogStreamName: aws.String(stream)}); err != nil {
			return fmt.Errorf("moto_server: CreateLogStream in %s: %w", region, err)
		}
		batches, err := putBatches(evs)
		if err != nil {
			return fmt.Errorf("moto_server: %w", err)
		}
		in := make([]types.InputLogEvent, 0, putMaxEvents)
		for _, b := range batches {
			in = in[:0]
			for _, e := range b {
				in = append(in, types.InputLogEvent{Timestamp: aws.Int64(e.Timestamp), Message: aws.String(string(e.Message))})
			}
			out, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
				LogGroupName: aws.String(trailGroup), LogStreamName: aws.String(stream), LogEvents: in})
			if err != nil {
				return fmt.Errorf("moto_server: PutLogEvents of %d events in %s: %w", len(in), region, err)
			}
			if rj := out.RejectedLogEventsInfo; rj != nil {
				return fmt.Errorf("moto_server: PutLogEvents in %s rejected events: too old up to %d, too new from %d, expired up to %d",
					region, aws.ToInt32(rj.TooOldLogEventEndIndex), aws.ToInt32(rj.TooNewLogEventStartIndex), aws.ToInt32(rj.ExpiredLogEventEndIndex))
			}
		}
	}
	return nil
}

// close stops moto_server: it keeps nothing worth a clean stop.
func (m *motoServer) close() {
	m.p.kill()
	m.log.Close()
}

// motoNote is the table's note on a run whose backlog is in moto_server: its pages are not
// AWS's (measured with moto 5.2.1).
const motoNote = "the backlog in moto_server, which answers FilterLogEvents with up to limit events whatever their size (AWS and cloudsim stop a page at 1 MB), each page taking longer the more events the group holds."
