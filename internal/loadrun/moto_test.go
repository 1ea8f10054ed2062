package loadrun

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPutBatches(t *testing.T) {
	events := func(n, size int, step time.Duration) []putEvent {
		out := make([]putEvent, n)
		for i := range out {
			out[i] = putEvent{Timestamp: int64(i) * step.Milliseconds(), Message: bytes.Repeat([]byte("x"), size)}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		events  []putEvent
		want    []int // events per batch
		wantErr bool
	}{
		{name: "none", events: nil, want: nil},
		{name: "under every limit", events: events(3, 10, time.Second), want: []int{3}},
		{name: "10,000 events a call", events: events(25_000, 10, time.Millisecond), want: []int{10_000, 10_000, 5_000}},
		// 1,000 bytes and 26 a call: 1,022 fit in 1,048,576 bytes.
		{name: "1 MiB a call, 26 bytes more per event", events: events(2_500, 1_000, time.Millisecond), want: []int{1_022, 1_022, 456}},
		{name: "24 hours a call", events: events(5, 10, 10*time.Hour), want: []int{3, 2}},
		{name: "an event over the limit", events: events(1, putMaxBytes, time.Second), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := putBatches(tc.events)
			if (err != nil) != tc.wantErr {
				t.Fatalf("putBatches: %v, want an error %v", err, tc.wantErr)
			}
			var sizes []int
			total := 0
			for _, b := range got {
				sizes = append(sizes, len(b))
				total += len(b)
				size := 0
				for _, e := range b {
					size += len(e.Message) + putEventExtra
				}
				if len(b) > putMaxEvents || size > putMaxBytes || time.Duration(b[len(b)-1].Timestamp-b[0].Timestamp)*time.Millisecond > putMaxTimeSpan {
					t.Errorf("a batch of %d events, %d bytes, over a limit", len(b), size)
				}
			}
			if !tc.wantErr && total != len(tc.events) {
				t.Errorf("%d events in the batches, want %d", total, len(tc.events))
			}
			if len(sizes) != len(tc.want) {
				t.Fatalf("batches of %v, want %v", sizes, tc.want)
			}
			for i := range sizes {
				if sizes[i] != tc.want[i] {
					t.Fatalf("batches of %v, want %v", sizes, tc.want)
				}
			}
		})
	}
}

func TestParseBackend(t *testing.T) {
	for _, s := range []string{"", "cloudsim", "moto"} {
		if _, err := ParseBackend(s); err != nil {
			t.Errorf("ParseBackend(%q): %v", s, err)
		}
	}
	if _, err := ParseBackend("localstack"); err == nil {
		t.Error("ParseBackend(localstack): no error")
	}
}

func TestMotoMissingBinaryFails(t *testing.T) {
	o := Options{Records: 10, Backend: BackendMoto, MotoBin: filepath.Join(t.TempDir(), "moto_server"), Dir: t.TempDir()}
	_, err := Run(context.Background(), "cloudtrail", Plain, o)
	if err == nil || !strings.Contains(err.Error(), "moto_server") {
		t.Fatalf("Run with a missing moto_server: %v; want an error naming it", err)
	}
}

// The shipper and the collector read one backlog in moto_server, alternating.
func TestMotoRunWithPeer(t *testing.T) {
	bin := buildShipper(t)
	peer := peerBin(t)
	moto, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("no moto_server (pip install 'moto[server]'): %v", err)
	}
	o := Options{
		Shipper: bin, Dir: t.TempDir(), Records: 3000, Seed: 7, Stall: time.Minute,
		TrailSamples: "../cloudtrailrecord/testdata/panther-rule-tests.ndjson",
		Backend:      BackendMoto, MotoBin: moto, Peer: PeerOtel, PeerBin: peer, Rounds: 2,
	}
	alt, err := RunRounds(context.Background(), "cloudtrail", Plain, o)
	if err != nil {
		t.Fatal(err)
	}
	checkAlternation(t, alt, 2, "a")
	var b bytes.Buffer
	WriteTable(&b, alt.Results())
	if !strings.Contains(b.String(), "moto_server") {
		t.Errorf("the table does not say the backlog was in moto_server:\n%s", b.String())
	}
}
