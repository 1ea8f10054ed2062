package state

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// BenchmarkSave is one source position saved, of the size of a CloudWatch checkpoint with a
// few hundred ids in its seen set: a bbolt transaction with fsync per save, or a journal
// record committed every second.
func BenchmarkSave(b *testing.B) {
	value := bytes.Repeat([]byte("x"), 20<<10)
	for _, bc := range []struct {
		name string
		o    Options
	}{
		{"fsync_every_write", Options{}},
		{"journal", Options{SyncInterval: time.Second}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d, err := OpenWith(b.TempDir(), bc.o)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			ns := d.Namespace("plugin/cloudtrail/cw")
			ctx := context.Background()
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			for b.Loop() {
				if err := ns.Put(ctx, "us-east-1/group/all", value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
