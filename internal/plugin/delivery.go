package plugin

import "time"

// DeliveryDefaults are a destination's defaults for the keys every destination shares: how the
// engine batches its records (batch.max_records, batch.max_bytes, batch.max_wait), how many
// batches it delivers at once (workers), how many records wait for it (queue_size) and the
// backoff between attempts (retry.initial_interval, retry.max_interval). The configuration
// loader starts a destination entry from its factory's defaults and decodes the user's values
// over them.
//
// A zero field takes the global default (GlobalDeliveryDefaults), so a factory sets only what
// its peer calls for.
type DeliveryDefaults struct {
	BatchMaxRecords      int
	BatchMaxBytes        int
	BatchMaxWait         time.Duration
	Workers              int
	QueueSize            int
	RetryInitialInterval time.Duration
	RetryMaxInterval     time.Duration
	// SpoolMaxSize bounds, in bytes, the records kept on disk for the destination while a fatal
	// error has stopped it.
	SpoolMaxSize int64
}

// GlobalDeliveryDefaults are the defaults of a destination whose factory sets none: batches of
// 500 records or 4 MiB sent at least every second, 2 workers, 10,000 queued records, and a
// backoff from 1 s to 1 min. It is the one place these values are defined.
func GlobalDeliveryDefaults() DeliveryDefaults {
	return DeliveryDefaults{
		BatchMaxRecords:      500,
		BatchMaxBytes:        4 << 20,
		BatchMaxWait:         time.Second,
		Workers:              2,
		QueueSize:            10000,
		RetryInitialInterval: time.Second,
		RetryMaxInterval:     time.Minute,
		SpoolMaxSize:         1 << 30,
	}
}

// OrGlobal returns d with each zero field set to its global default.
func (d DeliveryDefaults) OrGlobal() DeliveryDefaults {
	g := GlobalDeliveryDefaults()
	fill := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	fillDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&d.BatchMaxRecords, g.BatchMaxRecords)
	fill(&d.BatchMaxBytes, g.BatchMaxBytes)
	fillDur(&d.BatchMaxWait, g.BatchMaxWait)
	fill(&d.Workers, g.Workers)
	fill(&d.QueueSize, g.QueueSize)
	fillDur(&d.RetryInitialInterval, g.RetryInitialInterval)
	fillDur(&d.RetryMaxInterval, g.RetryMaxInterval)
	if d.SpoolMaxSize == 0 {
		d.SpoolMaxSize = g.SpoolMaxSize
	}
	return d
}

// DeliveryDefaults returns the defaults a destination entry of this factory starts from: the
// factory's Delivery, each field it leaves zero taken from GlobalDeliveryDefaults.
func (f Factory) DeliveryDefaults() DeliveryDefaults {
	return f.Delivery.OrGlobal()
}
