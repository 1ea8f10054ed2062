package plugin_test

import (
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
)

func TestDeliveryDefaultsOrGlobal(t *testing.T) {
	global := plugin.GlobalDeliveryDefaults()
	own := plugin.DeliveryDefaults{
		BatchMaxRecords: 100, BatchMaxBytes: 1 << 20, BatchMaxWait: 2 * time.Second,
		Workers: 8, QueueSize: 2000,
		RetryInitialInterval: 100 * time.Millisecond, RetryMaxInterval: 10 * time.Second,
		SpoolMaxSize: 64 << 20,
	}
	partial := global
	partial.BatchMaxRecords, partial.RetryMaxInterval = 2000, 5*time.Minute
	tests := []struct {
		name string
		in   plugin.DeliveryDefaults
		want plugin.DeliveryDefaults
	}{
		{"none set: all global", plugin.DeliveryDefaults{}, global},
		{"all set: all kept", own, own},
		{"some set: kept, the rest global", plugin.DeliveryDefaults{BatchMaxRecords: 2000, RetryMaxInterval: 5 * time.Minute}, partial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.OrGlobal(); got != tt.want {
				t.Errorf("OrGlobal() = %+v, want %+v", got, tt.want)
			}
			if got := (plugin.Factory{Delivery: tt.in}).DeliveryDefaults(); got != tt.want {
				t.Errorf("Factory.DeliveryDefaults() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The global defaults are today's: a change here changes every destination that sets none.
func TestGlobalDeliveryDefaults(t *testing.T) {
	want := plugin.DeliveryDefaults{
		BatchMaxRecords: 500, BatchMaxBytes: 4 << 20, BatchMaxWait: time.Second,
		Workers: 2, QueueSize: 10000,
		RetryInitialInterval: time.Second, RetryMaxInterval: time.Minute,
		SpoolMaxSize: 1 << 30,
	}
	if got := plugin.GlobalDeliveryDefaults(); got != want {
		t.Errorf("GlobalDeliveryDefaults() = %+v, want %+v", got, want)
	}
}
