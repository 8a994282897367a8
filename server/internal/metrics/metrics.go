// Package metrics is moosed's Prometheus instrumentation: one registry per
// server, counters and histograms the server's adapters record into, and a
// collector that reads the cluster's state (work orders by status, the job
// queue, live nodes) from PostgreSQL at scrape time.
//
// Names follow Prometheus conventions: a moose_ prefix, base units (seconds,
// dollars), _total on counters. Labels are bounded: plugin, method, code,
// validator, outcome, limit, variant (the variants an operator registered).
package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/moosehq/moose/server/internal/price"
)

// Metrics holds moosed's instruments.
type Metrics struct {
	Registry *prometheus.Registry

	pluginCalls    *prometheus.CounterVec
	pluginDuration *prometheus.HistogramVec
	validations    *prometheus.CounterVec
	validationTime *prometheus.HistogramVec
	limitHits      *prometheus.CounterVec
	tokens         *prometheus.CounterVec
	cost           *prometheus.CounterVec
	finished       *prometheus.CounterVec
	finishedCost   *prometheus.CounterVec
}

// New registers moosed's instruments, the Go runtime's and the process's,
// and a collector of the cluster's state read from src.
func New(src Source, log *slog.Logger) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.pluginCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moose_plugin_calls_total",
		Help: "Plugin calls by plugin, method and gRPC status code."}, []string{"plugin", "method", "code"})
	m.pluginDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "moose_plugin_call_duration_seconds",
		Help: "Plugin call latency.", Buckets: []float64{.01, .05, .1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}}, []string{"plugin", "method"})
	m.validations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moose_validations_total",
		Help: "Validator runs by validator and outcome (passed, failed, skipped, error)."}, []string{"validator", "outcome"})
	m.validationTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "moose_validation_duration_seconds",
		Help: "Validator run time.", Buckets: []float64{.1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}}, []string{"validator"})
	m.limitHits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moose_sandbox_limit_hits_total",
		Help: "Sandbox limits generated code ran into, by limit (cpu_limit, disk_quota, out_of_memory, timeout)."}, []string{"limit"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moose_proposal_tokens_total",
		Help: "Model tokens of proposals by variant and direction (input, output; cache_read and cache_write are the parts of input read from and written to the prompt cache)."}, []string{"variant", "direction"})
	m.cost = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moose_proposal_cost_dollars_total",
		Help: "Model cost of proposals by variant, in US dollars."}, []string{"variant"})
	m.finished = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moose_executions_finished_total",
		Help: "Finished executions by variant and outcome (accepted, rejected, crashed)."}, []string{"variant", "outcome"})
	m.finishedCost = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moose_executions_cost_dollars_total",
		Help: "Model cost of finished executions by variant and outcome; divided by moose_executions_finished_total{outcome=\"accepted\"} it is the cost per accepted work order."},
		[]string{"variant", "outcome"})
	m.Registry.MustRegister(m.pluginCalls, m.pluginDuration, m.validations, m.validationTime, m.limitHits,
		m.tokens, m.cost, m.finished, m.finishedCost,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&dbCollector{src: src, log: log})
	return m
}

// PluginCall records one plugin call.
func (m *Metrics) PluginCall(plugin, method, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.pluginCalls.WithLabelValues(plugin, method, code).Inc()
	m.pluginDuration.WithLabelValues(plugin, method).Observe(d.Seconds())
}

// Validation records one validator run and the sandbox limits it hit.
func (m *Metrics) Validation(validator, outcome string, d time.Duration, limits []string) {
	if m == nil {
		return
	}
	m.validations.WithLabelValues(validator, outcome).Inc()
	m.validationTime.WithLabelValues(validator).Observe(d.Seconds())
	for _, l := range limits {
		m.limitHits.WithLabelValues(l).Inc()
	}
}

// Proposal records a proposal's tokens and cost.
func (m *Metrics) Proposal(variant string, u price.Usage, costUSD float64) {
	if m == nil {
		return
	}
	m.tokens.WithLabelValues(variant, "input").Add(float64(u.Input))
	m.tokens.WithLabelValues(variant, "cache_read").Add(float64(u.CacheRead))
	m.tokens.WithLabelValues(variant, "cache_write").Add(float64(u.CacheWrite))
	m.tokens.WithLabelValues(variant, "output").Add(float64(u.Output))
	m.cost.WithLabelValues(variant).Add(costUSD)
}

// Finished records an execution's outcome.
func (m *Metrics) Finished(variant, outcome string, costUSD float64) {
	if m == nil {
		return
	}
	m.finished.WithLabelValues(variant, outcome).Inc()
	m.finishedCost.WithLabelValues(variant, outcome).Add(costUSD)
}

// Source reads the cluster's state for a scrape; each part comes from the
// package that owns its table.
type Source interface {
	// WorkOrdersByStatus counts work orders by status.
	WorkOrdersByStatus(ctx context.Context) (map[string]int64, error)
	// Jobs are the queue's unfinished jobs by kind and state.
	Jobs(ctx context.Context) ([]JobStat, error)
	// LiveNodes counts executing nodes holding a lease.
	LiveNodes(ctx context.Context) (int, error)
}

// JobStat is the count of one kind of job in one state; OldestAvailable is
// the age of the oldest available one (state "available" only).
type JobStat struct {
	Kind, State     string
	Count           int64
	OldestAvailable time.Duration
}

// dbCollector reads the cluster's state at scrape time.
type dbCollector struct {
	src Source
	log *slog.Logger
}

var (
	woDesc  = prometheus.NewDesc("moose_work_orders", "Work orders by status (the whole cluster).", []string{"status"}, nil)
	qDesc   = prometheus.NewDesc("moose_jobs", "Unfinished jobs in the queue by kind and state (the whole cluster).", []string{"kind", "state"}, nil)
	ageDesc = prometheus.NewDesc("moose_jobs_oldest_available_age_seconds", "Age of the oldest job waiting to run, by kind.",
		[]string{"kind"}, nil)
	nodesDesc = prometheus.NewDesc("moose_nodes", "Executing nodes holding a lease.", nil, nil)
	upDesc    = prometheus.NewDesc("moose_database_up", "Whether the last scrape could read the database.", nil, nil)
)

// Statuses are the work-order statuses reported (zero when none).
var Statuses = []string{"pending", "approved", "in_progress", "completed", "needs_review", "failed", "cancelled"}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{woDesc, qDesc, ageDesc, nodesDesc, upDesc} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	up := 1.0
	if err := c.collect(ctx, ch); err != nil {
		up = 0
		c.log.Debug("metrics: read the database", "err", err)
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up)
}

func (c *dbCollector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	counts, err := c.src.WorkOrdersByStatus(ctx)
	if err != nil {
		return err
	}
	for _, s := range Statuses {
		ch <- prometheus.MustNewConstMetric(woDesc, prometheus.GaugeValue, float64(counts[s]), s)
	}
	jobs, err := c.src.Jobs(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		ch <- prometheus.MustNewConstMetric(qDesc, prometheus.GaugeValue, float64(j.Count), j.Kind, j.State)
		if j.State == "available" {
			ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, max(j.OldestAvailable.Seconds(), 0), j.Kind)
		}
	}
	nodes, err := c.src.LiveNodes(ctx)
	if err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(nodesDesc, prometheus.GaugeValue, float64(nodes))
	return nil
}
