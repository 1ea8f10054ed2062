package telemetry

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the process's Prometheus collectors. Every series carries `plugin`, the plugin
// configuration's name, so one scheme serves sources and destinations alike:
//
//	logshipper_records_received_total{plugin}         records a source read / a destination was given
//	logshipper_records_sent_total{plugin}             records a destination delivered
//	logshipper_records_dropped_total{plugin,reason}   records that did not go on, by reason
//	logshipper_records_repaired_total{plugin,reason}  records a source changed so that they go on, by reason
//	logshipper_errors_total{plugin}                   failed calls and reads
//	logshipper_retries_total{plugin}                  batches retried
//	logshipper_batch_records{plugin}                  histogram of records per delivered batch
//	logshipper_batch_duration_seconds{plugin}         histogram of one Write call
//	logshipper_queue_records{plugin}                  records waiting for a destination
//	logshipper_checkpoints_total{plugin}              positions saved
//	logshipper_records_late_total{plugin}             records that reached the source's origin later than it is sure to see
//	logshipper_records_swept_total{plugin}            records a source's completeness sweep found that its near-real-time pass had not delivered
//	logshipper_source_objects_total{plugin,outcome}   objects (files) a source read or skipped, by outcome
//	logshipper_source_messages_total{plugin,outcome}  queue messages a source handled, by outcome
//	logshipper_plugin_up{plugin,kind}                 1 while the instance runs, 0 once it stopped
//	logshipper_partition_lag_seconds{plugin,partition} how far behind the present each partition this process reads is
//	logshipper_partition_moves_total{plugin,event}     cluster mode: partition leases this member acquired or ended, by event
//	logshipper_partitions_owned{plugin}                cluster mode: partition leases this member holds
//	logshipper_objects_written_total{plugin}           objects (files) a destination stored in an object store
//	logshipper_object_bytes_total{plugin}              bytes of the objects a destination stored
//	logshipper_object_parts_total{plugin}              multipart upload parts a destination uploaded
//	logshipper_object_upload_duration_seconds{plugin}  histogram of one object's upload, from its first part to its completion
//
// In cluster mode every series, the Go runtime's and the process's included, also carries
// `node`, the member's name (NewNodeMetrics), so that the series of several processes scraped
// into one Prometheus stay apart.
type Metrics struct {
	Registry *prometheus.Registry

	received       *prometheus.CounterVec
	sent           *prometheus.CounterVec
	dropped        *prometheus.CounterVec
	repaired       *prometheus.CounterVec
	errors         *prometheus.CounterVec
	retries        *prometheus.CounterVec
	batch          *prometheus.HistogramVec
	latency        *prometheus.HistogramVec
	queue          *prometheus.GaugeVec
	checkpoints    *prometheus.CounterVec
	late           *prometheus.CounterVec
	swept          *prometheus.CounterVec
	spooled        *prometheus.CounterVec
	spoolBytes     *prometheus.GaugeVec
	objects        *prometheus.CounterVec
	messages       *prometheus.CounterVec
	up             *prometheus.GaugeVec
	lag            *prometheus.GaugeVec
	moves          *prometheus.CounterVec
	owned          *prometheus.GaugeVec
	objectsWritten *prometheus.CounterVec
	objectBytes    *prometheus.CounterVec
	objectParts    *prometheus.CounterVec
	upload         *prometheus.HistogramVec
}

// NewMetrics creates the collectors on a fresh registry (no global state), with the Go runtime
// and process collectors beside them: the metrics of a single process.
func NewMetrics(version string) *Metrics { return NewNodeMetrics(version, "") }

// NewNodeMetrics is NewMetrics for cluster member node: every series carries the constant label
// node="<node>". An empty node adds no label (a single process).
func NewNodeMetrics(version, node string) *Metrics {
	r := prometheus.NewRegistry()
	var reg prometheus.Registerer = r
	if node != "" {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"node": node}, r)
	}
	f := func(c prometheus.Collector) prometheus.Collector { reg.MustRegister(c); return c }
	m := &Metrics{Registry: r}
	m.received = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_records_received_total", Help: "Records read by a source or given to a destination."}, []string{"plugin"})).(*prometheus.CounterVec)
	m.sent = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_records_sent_total", Help: "Records a destination delivered."}, []string{"plugin"})).(*prometheus.CounterVec)
	m.dropped = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_records_dropped_total", Help: "Records that did not go on, by reason."}, []string{"plugin", "reason"})).(*prometheus.CounterVec)
	m.repaired = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_records_repaired_total", Help: "Records a source changed so that they could go on (invalid_utf8: bytes that are not UTF-8 replaced by U+FFFD), by reason."}, []string{"plugin", "reason"})).(*prometheus.CounterVec)
	m.errors = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_errors_total", Help: "Failed reads and calls."}, []string{"plugin"})).(*prometheus.CounterVec)
	m.retries = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_retries_total", Help: "Batches retried after a failure."}, []string{"plugin"})).(*prometheus.CounterVec)
	m.batch = f(prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "logshipper_batch_records", Help: "Records per batch written.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}, []string{"plugin"})).(*prometheus.HistogramVec)
	m.latency = f(prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "logshipper_batch_duration_seconds", Help: "Duration of one destination write.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}, []string{"plugin"})).(*prometheus.HistogramVec)
	m.queue = f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "logshipper_queue_records", Help: "Records waiting for a destination."}, []string{"plugin"})).(*prometheus.GaugeVec)
	m.checkpoints = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_checkpoints_total", Help: "Source positions saved."}, []string{"plugin"})).(*prometheus.CounterVec)
	m.late = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_records_late_total", Help: "Records that reached their origin later than the source is sure to see (CloudWatch: ingested more than lag+overlap after their time); records like them may be missed."}, []string{"plugin"})).(*prometheus.CounterVec)
	m.swept = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_records_swept_total", Help: "Records a source's completeness sweep found in time its near-real-time pass had read, ingested after that read (CloudWatch: later than the pass could see): delivered about lag after their time rather than within seconds, not missed."}, []string{"plugin"})).(*prometheus.CounterVec)
	m.spooled = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_records_spooled_total", Help: "Records a destination stopped by a fatal error kept in its spool on disk, to be sent when it runs again."}, []string{"plugin"})).(*prometheus.CounterVec)
	m.spoolBytes = f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "logshipper_spool_bytes", Help: "Bytes a destination's spool holds on disk."}, []string{"plugin"})).(*prometheus.GaugeVec)
	m.objects = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_source_objects_total", Help: "Objects (files) a source read or skipped, by outcome (aws_s3_sqs: read, digest, filtered, empty, poison)."}, []string{"plugin", "outcome"})).(*prometheus.CounterVec)
	m.messages = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_source_messages_total", Help: "Queue messages a source handled, by outcome (aws_s3_sqs: received, deleted, returned, test_event, poison, max_receive_count)."}, []string{"plugin", "outcome"})).(*prometheus.CounterVec)
	m.up = f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "logshipper_plugin_up", Help: "1 while the plugin instance runs."}, []string{"plugin", "kind"})).(*prometheus.GaugeVec)
	m.lag = f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "logshipper_partition_lag_seconds", Help: "The time between now (in cluster mode: a lease renewal) and the latest data of the partition delivered and saved, for each partition this process reads."}, []string{"plugin", "partition"})).(*prometheus.GaugeVec)
	m.moves = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_partition_moves_total", Help: "Cluster mode: partition leases this member acquired (event acquired) or that ended (handed_over, released, lost, lost_at_release, release_failed, closed), by event."}, []string{"plugin", "event"})).(*prometheus.CounterVec)
	m.owned = f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "logshipper_partitions_owned", Help: "Cluster mode: partition leases this member holds."}, []string{"plugin"})).(*prometheus.GaugeVec)
	m.objectsWritten = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_objects_written_total", Help: "Objects (files) a destination stored in an object store."}, []string{"plugin"})).(*prometheus.CounterVec)
	m.objectBytes = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_object_bytes_total", Help: "Bytes of the objects a destination stored."}, []string{"plugin"})).(*prometheus.CounterVec)
	m.objectParts = f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logshipper_object_parts_total", Help: "Multipart upload parts a destination uploaded."}, []string{"plugin"})).(*prometheus.CounterVec)
	m.upload = f(prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "logshipper_object_upload_duration_seconds", Help: "Duration of one object's upload, from its first part to its completion.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 9)}, []string{"plugin"})).(*prometheus.HistogramVec)
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "logshipper_build_info", Help: "Build information."}, []string{"version"})
	reg.MustRegister(info, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info.WithLabelValues(version).Set(1)
	return m
}

// Plugin returns the collectors of one plugin instance.
func (m *Metrics) Plugin(name string) *PluginMetrics {
	return &PluginMetrics{
		Received:       m.received.WithLabelValues(name),
		Sent:           m.sent.WithLabelValues(name),
		Errors:         m.errors.WithLabelValues(name),
		Retries:        m.retries.WithLabelValues(name),
		BatchSize:      m.batch.WithLabelValues(name),
		Latency:        m.latency.WithLabelValues(name),
		Queue:          m.queue.WithLabelValues(name),
		Checkpoints:    m.checkpoints.WithLabelValues(name),
		Late:           m.late.WithLabelValues(name),
		Swept:          m.swept.WithLabelValues(name),
		Spooled:        m.spooled.WithLabelValues(name),
		SpoolBytes:     m.spoolBytes.WithLabelValues(name),
		dropped:        m.dropped.MustCurryWith(prometheus.Labels{"plugin": name}),
		repaired:       m.repaired.MustCurryWith(prometheus.Labels{"plugin": name}),
		Objects:        m.objects.MustCurryWith(prometheus.Labels{"plugin": name}),
		Messages:       m.messages.MustCurryWith(prometheus.Labels{"plugin": name}),
		up:             m.up.MustCurryWith(prometheus.Labels{"plugin": name}),
		PartitionLag:   m.lag.MustCurryWith(prometheus.Labels{"plugin": name}),
		PartitionMoves: m.moves.MustCurryWith(prometheus.Labels{"plugin": name}),
		owned:          m.owned.MustCurryWith(prometheus.Labels{"plugin": name}),
		ObjectsWritten: m.objectsWritten.WithLabelValues(name),
		ObjectBytes:    m.objectBytes.WithLabelValues(name),
		ObjectParts:    m.objectParts.WithLabelValues(name),
		UploadDuration: m.upload.WithLabelValues(name),
	}
}

// PluginMetrics are one instance's collectors.
type PluginMetrics struct {
	Received    prometheus.Counter
	Sent        prometheus.Counter
	Errors      prometheus.Counter
	Retries     prometheus.Counter
	BatchSize   prometheus.Observer
	Latency     prometheus.Observer
	Queue       prometheus.Gauge
	Checkpoints prometheus.Counter
	Late        prometheus.Counter
	Swept       prometheus.Counter
	Spooled     prometheus.Counter
	SpoolBytes  prometheus.Gauge
	// PartitionLag is logshipper_partition_lag_seconds of this instance, by partition: the
	// cluster membership sets it for the partitions this member holds.
	PartitionLag *prometheus.GaugeVec
	// PartitionMoves is logshipper_partition_moves_total of this instance, by event: the
	// cluster membership counts the leases of its partitions as they start and end.
	PartitionMoves *prometheus.CounterVec
	// ObjectsWritten, ObjectBytes, ObjectParts and UploadDuration are those of a destination
	// that writes objects (files) to an object store.
	ObjectsWritten prometheus.Counter
	ObjectBytes    prometheus.Counter
	ObjectParts    prometheus.Counter
	UploadDuration prometheus.Observer
	// Objects is logshipper_source_objects_total of this instance, by outcome.
	Objects *prometheus.CounterVec
	// Messages is logshipper_source_messages_total of this instance, by outcome.
	Messages *prometheus.CounterVec

	dropped  *prometheus.CounterVec
	repaired *prometheus.CounterVec
	up       *prometheus.GaugeVec
	owned    *prometheus.GaugeVec
}

// Dropped counts n records dropped for reason.
func (p *PluginMetrics) Dropped(reason string, n int) {
	p.dropped.WithLabelValues(reason).Add(float64(n))
}

// DroppedCounter returns the counter of drops for reason (for tests and the CLI).
func (p *PluginMetrics) DroppedCounter(reason string) prometheus.Counter {
	return p.dropped.WithLabelValues(reason)
}

// Repaired counts n records repaired for reason.
func (p *PluginMetrics) Repaired(reason string, n int) {
	p.repaired.WithLabelValues(reason).Add(float64(n))
}

// RepairedCounter returns the counter of records repaired for reason (for tests and the CLI).
func (p *PluginMetrics) RepairedCounter(reason string) prometheus.Counter {
	return p.repaired.WithLabelValues(reason)
}

// Up marks the instance (of kind "source" or "destination") running or stopped.
func (p *PluginMetrics) Up(kind string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	p.up.WithLabelValues(kind).Set(v)
}

// PartitionsOwned returns logshipper_partitions_owned of this instance, which the cluster
// membership keeps at the number of partition leases the member holds. The series exists from
// the first call on: an instance that reads no partitions has none.
func (p *PluginMetrics) PartitionsOwned() prometheus.Gauge { return p.owned.WithLabelValues() }

// Counts returns the current value of every counter and gauge named logshipper_*, keyed by
// metric name and then by the value of the `plugin` label (with `/reason` appended for drops and
// repairs, `/partition` for partition lags, `/event` for partition moves, `/outcome` for
// objects and messages).
// It serves summaries such as the demo's; Prometheus scrapes /metrics.
func (m *Metrics) Counts() (map[string]map[string]float64, error) {
	fams, err := m.Registry.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]float64{}
	for _, f := range fams {
		name := f.GetName()
		if !strings.HasPrefix(name, "logshipper_") {
			continue
		}
		for _, mt := range f.GetMetric() {
			key := ""
			for _, l := range mt.GetLabel() {
				switch l.GetName() {
				case "plugin":
					key = l.GetValue() + key
				case "reason", "partition", "event", "outcome":
					key += "/" + l.GetValue()
				}
			}
			var v float64
			switch {
			case mt.GetCounter() != nil:
				v = mt.GetCounter().GetValue()
			case mt.GetGauge() != nil:
				v = mt.GetGauge().GetValue()
			default:
				continue
			}
			if out[name] == nil {
				out[name] = map[string]float64{}
			}
			out[name][key] += v
		}
	}
	return out, nil
}
