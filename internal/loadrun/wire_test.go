package loadrun

import (
	"context"
	"crypto/sha256"
	"io"
	"net"
	"testing"

	"github.com/logshipper/logshipper/internal/jsonx"
)

// BenchmarkWireFloor is the least any shipper must spend per record of a journey, whatever its
// JSON code: the bytes read from a socket, the bytes written to one, and for CloudTrail Lake the
// two SHA-256 sums CloudTrail Lake needs (the event's checksum and the SigV4 hash of the request
// body). The records are the load run's own; what goes out is modelled by its size (a record
// escaped into a JSON string for PutAuditEvents, as it is for syslog; a CloudTrail record
// escaped into a JSON string is what a FilterLogEvents page carries). The peers run in other
// goroutines: ns/record is this side's cost, on this machine. docs/benchmarks.md sets the CPU
// targets beside it.
func BenchmarkWireFloor(b *testing.B) {
	for _, journey := range []string{"netskope", "cloudtrail"} { // one b.Loop iteration is a batch
		b.Run(journey, func(b *testing.B) {
			in, out, signed := wireRecords(b, journey)
			benchWire(b, in, out, signed)
		})
	}
}

// wireRecords returns, per record, what a journey reads and writes, and whether it signs it.
func wireRecords(b *testing.B, journey string) (in, out [][]byte, signed bool) {
	b.Helper()
	o := Options{Records: 20000, Seed: 1, TrailSamples: "../cloudtrailrecord/testdata/panther-rule-tests.ndjson"}
	switch journey {
	case "netskope":
		j, err := newNetskope(o, Plain)
		if err != nil {
			b.Fatal(err)
		}
		defer j.close()
		for _, r := range j.recs {
			in = append(in, r)
			out = append(out, jsonx.AppendString(nil, string(r)))
		}
		return in, out, true
	default:
		j, err := newCloudTrail(context.Background(), o, Plain, func(string, ...any) {})
		if err != nil {
			b.Fatal(err)
		}
		defer j.close()
		for _, r := range j.recs {
			in = append(in, jsonx.AppendString(nil, string(r)))
			out = append(out, r)
		}
		return in, out, false
	}
}

// wireBatch is how many records go in one read and one write: a PutAuditEvents call's worth
// (pages are read in bigger pieces still, so reading is if anything overcounted).
const wireBatch = 100

func benchWire(b *testing.B, in, out [][]byte, signed bool) {
	src, dst := loopback(b), loopback(b)
	n := len(in) / wireBatch * wireBatch
	in, out = in[:n], out[:n]
	var stream []byte
	for _, r := range in {
		stream = append(stream, r...)
	}
	// Each batch's requests, written at once.
	var bodies [][]byte
	for k := 0; k < n; k += wireBatch {
		var body []byte
		for _, o := range out[k : k+wireBatch] {
			body = append(body, o...)
		}
		bodies = append(bodies, body)
	}
	go func() { // the service sending pages
		for {
			if _, err := src.server.Write(stream); err != nil {
				return
			}
		}
	}()
	go func() { _, _ = io.Copy(io.Discard, dst.server) }() // the service reading requests
	page := make([]byte, len(stream))
	b.SetBytes(int64(len(stream) / (n / wireBatch)))
	b.ResetTimer()
	records := 0
	for batch := 0; b.Loop(); batch++ {
		k := batch % (n / wireBatch) * wireBatch
		size := 0
		for _, r := range in[k : k+wireBatch] {
			size += len(r)
		}
		recs := page[:size]
		if _, err := io.ReadFull(src.client, recs); err != nil {
			b.Fatal(err)
		}
		if signed {
			at := 0
			for i := k; i < k+wireBatch; i++ {
				sum := sha256.Sum256(recs[at : at+len(in[i])])
				at += len(in[i])
				page[0] ^= sum[0]
			}
			sum := sha256.Sum256(bodies[k/wireBatch])
			page[0] ^= sum[0]
		}
		if _, err := dst.client.Write(bodies[k/wireBatch]); err != nil {
			b.Fatal(err)
		}
		records += wireBatch
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
	src.close()
	dst.close()
}

type conns struct{ client, server net.Conn }

func (c conns) close() { c.client.Close(); c.server.Close() }

// loopback connects two TCP sockets on 127.0.0.1.
func loopback(b *testing.B) conns {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(acc)
			return
		}
		acc <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	s, ok := <-acc
	if !ok {
		b.Fatal("accept failed")
	}
	return conns{client: c, server: s}
}
