package main

import (
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/loadrun"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string // "" for none
		check   func(t *testing.T, in invocation)
	}{
		{name: "defaults", args: nil, check: func(t *testing.T, in invocation) {
			if in.alternate() || in.o.Rounds != 1 || in.o.Stall != 2*time.Minute || len(in.modes) != 3 || in.o.Backend != loadrun.BackendCloudsim {
				t.Errorf("%+v", in)
			}
		}},
		{name: "rounds with the peer", args: []string{"-journeys", "cloudtrail", "-modes", "plain", "-peer", "otel", "-rounds", "3"},
			check: func(t *testing.T, in invocation) {
				if !in.alternate() || in.o.Rounds != 3 || in.o.Peer != "otel" {
					t.Errorf("%+v", in)
				}
			}},
		{name: "a second shipper alternates once without -rounds", args: []string{"-modes", "plain", "-shipper-b", "/old/logshipper"},
			check: func(t *testing.T, in invocation) {
				if !in.alternate() || in.o.ShipperB != "/old/logshipper" {
					t.Errorf("%+v", in)
				}
			}},
		{name: "live: a longer stall by default", args: []string{"-journeys", "cloudtrail", "-modes", "live", "-rate", "200", "-source-opts", "lag=5s"},
			check: func(t *testing.T, in invocation) {
				if in.o.Stall != 15*time.Minute || in.o.Rate != 200 || in.modes[0] != loadrun.Live || in.o.SourceOptions != "lag=5s" {
					t.Errorf("%+v", in)
				}
			}},
		{name: "live: -stall given", args: []string{"-modes", "live", "-stall", "1m"}, check: func(t *testing.T, in invocation) {
			if in.o.Stall != time.Minute {
				t.Errorf("stall %s, want 1m", in.o.Stall)
			}
		}},
		{name: "moto", args: []string{"-journeys", "cloudtrail", "-modes", "plain", "-backend", "moto", "-moto-bin", "/x/moto_server"},
			check: func(t *testing.T, in invocation) {
				if in.o.Backend != loadrun.BackendMoto || in.o.MotoBin != "/x/moto_server" {
					t.Errorf("%+v", in)
				}
			}},
		{name: "zero rounds", args: []string{"-rounds", "0"}, wantErr: "at least 1"},
		{name: "rounds of crash runs", args: []string{"-modes", "plain,crash", "-rounds", "2"}, wantErr: "plain or live"},
		{name: "peer and second shipper", args: []string{"-modes", "plain", "-peer", "otel", "-shipper-b", "x"}, wantErr: "choose one"},
		{name: "unknown backend", args: []string{"-backend", "localstack"}, wantErr: "unknown backend"},
		{name: "unknown mode", args: []string{"-modes", "soak"}, wantErr: "unknown mode"},
		{name: "unknown peer", args: []string{"-peer", "vector"}, wantErr: "unknown peer"},
		{name: "stray argument", args: []string{"plain"}, wantErr: "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := parseFlags(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseFlags(%q): %v; want an error with %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tc.args, err)
			}
			tc.check(t, in)
		})
	}
}
