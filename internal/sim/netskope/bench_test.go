package netskope

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// discardWriter is an http.ResponseWriter that drops the body.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
func (d *discardWriter) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }

// BenchmarkDataExportPage serves full 10,000-record pages of page events
// (operation=head, so every call answers a full page) and reports
// records/s: over real HTTP with a plain client reading the whole body,
// and through the handler alone.
func BenchmarkDataExportPage(b *testing.B) {
	tn := New(Options{
		Seed:       1,
		Now:        func() time.Time { return t0 },
		RateLimit:  -1,
		Generators: map[string]Generator{"events/page": {Backlog: maxPageSize, BacklogSpan: 10 * time.Minute}},
	})
	url := pageEP.Path() + "?index=bench&operation=head"

	b.Run("http", func(b *testing.B) {
		srv := httptest.NewServer(tn)
		defer srv.Close()
		client := srv.Client()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+url, nil)
		req.Header.Set(TokenHeader, "t")
		var bytes int64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("status %d err %v", resp.StatusCode, err)
			}
			bytes += n
		}
		b.SetBytes(bytes / int64(b.N))
		b.ReportMetric(float64(b.N*maxPageSize)/b.Elapsed().Seconds(), "records/s")
	})

	b.Run("handler", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, url, nil)
		req.Header.Set(TokenHeader, "t")
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			w.n = 0
			tn.ServeHTTP(w, req)
			if w.code != 200 {
				b.Fatalf("status %d", w.code)
			}
		}
		b.SetBytes(int64(w.n))
		b.ReportMetric(float64(b.N*maxPageSize)/b.Elapsed().Seconds(), "records/s")
	})
}

// BenchmarkGenerate measures record generation (records/s).
func BenchmarkGenerate(b *testing.B) {
	tn := New(Options{Seed: 1, Now: func() time.Time { return t0 }, MaxRecords: 10000})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := tn.Generate(Events, "page", 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
