// Package plugin benchmarks the plugin boundary: the latency of a Propose call
// to a plugin process (gRPC over a Unix socket with mTLS, exactly the client
// settings moosed uses) against an in-process call of the same
// implementation, and the time to launch a plugin (sha256 check, exec,
// handshake, mTLS). Targets on 2 cores: p50 overhead < 300 µs, p99 < 2 ms.
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/plugin/
package plugin

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/moosehq/moose/bench/plugin/echo"
	"github.com/moosehq/moose/plugins/sdk"
	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

// samples per benchmark iteration, so `-benchtime 1x` still yields percentiles.
const samples = 3000

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bench-plugin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "echoplugin")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/moosehq/moose/bench/plugin/echoplugin").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build echo plugin: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func launch(b *testing.B) (*plugin.Client, pluginv1.ProposerServiceClient) {
	f, err := os.Open(binary)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	_, _ = io.Copy(h, f)
	f.Close()
	cfg := sdk.ClientConfig()
	cmd := exec.Command(binary)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cfg.Cmd = cmd
	cfg.SecureConfig = &plugin.SecureConfig{Checksum: h.Sum(nil), Hash: sha256.New()}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Off})
	c := plugin.NewClient(cfg)
	rpc, err := c.Client()
	if err != nil {
		c.Kill()
		b.Fatal(err)
	}
	raw, err := rpc.Dispense(sdk.KindProposer)
	if err != nil {
		c.Kill()
		b.Fatal(err)
	}
	pc := raw.(pluginv1.ProposerServiceClient)
	if _, err := pc.GetInfo(context.Background(), &pluginv1.ProposerServiceGetInfoRequest{}); err != nil {
		c.Kill()
		b.Fatal(err)
	}
	return c, pc
}

func request() *pluginv1.ProposeRequest {
	return &pluginv1.ProposeRequest{
		WorkOrder: &pluginv1.WorkOrder{Title: "Add a Reverse function", Description: "reverse a string by runes", Complexity: 2},
		Project:   &pluginv1.ProjectContext{Files: []*pluginv1.File{{Path: "strutil/strutil.go", Content: "package strutil\n"}}},
		Variant:   &pluginv1.VariantConfig{Model: "echo", Temperature: 0.2},
		Cycle:     1,
	}
}

// measure runs call `samples` times per b.N and reports p50 and p99.
func measure(b *testing.B, call func() error) (p50, p99 time.Duration) {
	durs := make([]time.Duration, 0, samples*b.N)
	b.ResetTimer()
	for range b.N {
		for range samples {
			t := time.Now()
			if err := call(); err != nil {
				b.Fatal(err)
			}
			durs = append(durs, time.Since(t))
		}
	}
	b.StopTimer()
	slices.Sort(durs)
	p50, p99 = durs[len(durs)/2], durs[len(durs)*99/100]
	b.ReportMetric(float64(p50.Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "p99-µs")
	return p50, p99
}

// BenchmarkPropose reports the in-process baseline and the plugin call in the
// same run, and the overhead between them.
func BenchmarkPropose(b *testing.B) {
	req := request()
	var base50, base99 time.Duration
	b.Run("in-process", func(b *testing.B) {
		impl := echo.Proposer{}
		base50, base99 = measure(b, func() error {
			_, err := impl.Propose(context.Background(), req)
			return err
		})
	})
	b.Run("plugin", func(b *testing.B) {
		c, pc := launch(b)
		defer c.Kill()
		for range 100 { // warm the connection
			_, _ = pc.Propose(context.Background(), req)
		}
		p50, p99 := measure(b, func() error {
			_, err := pc.Propose(context.Background(), req)
			return err
		})
		b.ReportMetric(float64((p50-base50).Nanoseconds())/1e3, "overhead-p50-µs")
		b.ReportMetric(float64((p99-base99).Nanoseconds())/1e3, "overhead-p99-µs")
	})
}

// BenchmarkLaunch measures sha256 check + exec + handshake + mTLS + first GetInfo.
func BenchmarkLaunch(b *testing.B) {
	const launches = 10
	durs := make([]time.Duration, 0, launches*b.N)
	for range b.N {
		for range launches {
			t := time.Now()
			c, _ := launch(b)
			durs = append(durs, time.Since(t))
			c.Kill()
		}
	}
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1e3, "p50-ms")
	b.ReportMetric(float64(durs[len(durs)-1].Microseconds())/1e3, "max-ms")
}
