package httpdest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
)

// The conformance suite against a server that keeps each record of each body, in both modes:
// plain NDJSON (records compared byte-exact) and HEC (each event's record compared byte-exact).
func TestDestinationSuite(t *testing.T) {
	for _, mode := range []string{ModeHTTP, ModeSplunkHEC} {
		t.Run(mode, func(t *testing.T) {
			var srv *recorder
			plugintest.RunDestinationSuite(t, plugintest.DestinationHarness{
				Setup: func(t *testing.T) {
					srv = newRecorder(t, func(_ int, _ got, w http.ResponseWriter) {
						_, _ = w.Write([]byte(`{"text":"Success","code":0}`))
					})
				},
				New: func(t *testing.T) plugin.Destination {
					d, err := New(cfgFor(t, srv.srv.URL, func(c *Config) {
						if mode == ModeSplunkHEC {
							c.Mode, c.Token = ModeSplunkHEC, config.NewSecret("tok")
						}
					}), plugintest.Settings(t, "http", nil))
					if err != nil {
						t.Fatal(err)
					}
					return d
				},
				Delivered: func(t *testing.T) []string {
					var out []string
					for _, g := range srv.requests() {
						if mode == ModeHTTP {
							for _, line := range bytes.SplitAfter(g.Body, []byte("\n")) {
								if len(line) > 0 {
									out = append(out, string(bytes.TrimSuffix(line, []byte("\n"))))
								}
							}
							continue
						}
						dec := json.NewDecoder(bytes.NewReader(g.Body))
						for dec.More() {
							var ev struct {
								Event json.RawMessage `json:"event"`
							}
							if err := dec.Decode(&ev); err != nil {
								t.Errorf("HEC body: %v", err)
								break
							}
							out = append(out, string(ev.Event))
						}
					}
					return out
				},
				Key: func(r *event.Record) string { return string(r.Raw) },
			})
		})
	}
}
