package telemetry

import (
	"math"
	"testing"
	"time"
)

func TestHistoryRates(t *testing.T) {
	m := NewMetrics("test")
	h := NewHistory(m, 10*time.Second, 30*time.Second) // keeps 3 samples
	p := m.Plugin("acme")
	start := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	h.Sample(start)
	p.Received.Add(100)
	p.Sent.Add(50)
	p.Dropped("filtered", 10)
	h.Sample(start.Add(10 * time.Second))
	p.Received.Add(200)
	h.Sample(start.Add(20 * time.Second))

	rates := h.Rates("acme")
	if len(rates) != 2 {
		t.Fatalf("%d rates; want 2: %+v", len(rates), rates)
	}
	if r := rates[0]; r.Received != 10 || r.Sent != 5 || r.Dropped != 1 || !r.At.Equal(start.Add(10*time.Second)) {
		t.Errorf("first rate %+v; want 10, 5, 1 per second at +10s", r)
	}
	if r := rates[1]; r.Received != 20 || r.Sent != 0 || r.Dropped != 0 {
		t.Errorf("second rate %+v; want 20, 0, 0", r)
	}
	if tot := h.Totals("acme"); tot != (Totals{Received: 300, Sent: 50, Dropped: 10}) {
		t.Errorf("totals %+v", tot)
	}

	h.Sample(start.Add(30 * time.Second)) // the oldest sample goes
	if n := len(h.Rates("acme")); n != 2 {
		t.Errorf("%d rates after a fourth sample; want 2 (3 samples kept)", n)
	}
	if r := h.Rates("nobody"); len(r) != 2 || r[0].Received != 0 || math.IsNaN(r[0].Sent) {
		t.Errorf("rates of an unknown plugin %+v; want zeros", r)
	}
}
