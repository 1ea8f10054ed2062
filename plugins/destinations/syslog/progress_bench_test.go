package syslog

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/logshipper/logshipper/internal/plugintest"
)

// BenchmarkWriteProgress writes batches of 2,000 messages to a local receiver that discards
// them, acknowledging every ack_every messages (0: once per batch): the cost of the groups'
// writes and connection checks, per message.
func BenchmarkWriteProgress(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	recs := records(2000, "b")
	for _, every := range []int{0, 50, 10} {
		b.Run(fmt.Sprintf("ack_every=%d", every), func(b *testing.B) {
			cfg := testConfig(ln.Addr().String())
			cfg.Format = FormatJSON
			cfg.AckEvery = every
			if err := cfg.Validate(); err != nil {
				b.Fatal(err)
			}
			d, err := New(cfg, plugintest.Settings(b, "siem", nil))
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close(context.Background())
			reported := 0
			b.ReportAllocs()
			for b.Loop() {
				if err := d.WriteProgress(context.Background(), recs, func(from, to int) { reported += to - from }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/msg")
			if reported != b.N*len(recs) {
				b.Fatalf("%d records reported; want %d", reported, b.N*len(recs))
			}
		})
	}
}
