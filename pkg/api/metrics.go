package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/bc-chain/bc/pkg/cmdline"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is bc-serve's Prometheus registry (its own, not the global one).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	added    prometheus.Counter
	handler  http.Handler
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bc_http_requests_total", Help: "HTTP requests by endpoint, method and status code.",
	}, []string{"route", "method", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "bc_http_request_duration_seconds", Help: "HTTP request latency by endpoint.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route"})
	m.bytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bc_http_response_bytes_total", Help: "Bytes of response bodies by endpoint.",
	}, []string{"route"})
	m.added = prometheus.NewCounter(prometheus.CounterOpts{Name: "bc_messages_added_total", Help: "Messages accepted by /add."})
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	n := s.node
	b := cmdline.Build()
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: "bc_build_info", Help: "Always 1; the labels say which bc this is.",
		ConstLabels: prometheus.Labels{"version": b.Release, "commit": b.Commit, "goversion": b.GoVersion, "platform": b.Platform}})
	build.Set(1)
	m.reg.MustRegister(m.requests, m.latency, m.bytes, m.added, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		gauge("bc_chain_height", "Index of the tip block.", func() float64 {
			if v := n.chainView(); v != nil {
				return float64(v.Height())
			}
			return 0
		}),
		gauge("bc_pending_messages", "Messages waiting to be mined.", func() float64 { return float64(n.pendingCounts().Messages) }),
		gauge("bc_neighbours", "Neighbours of this node.", func() float64 { return float64(len(n.neighbours())) }),
		// The daemons' counts come from their status files: they count
		// from the daemon's start, so a restart is a counter reset, which
		// rate() and increase() handle.
		counter("bc_miner_attempts_total", "Proof-of-work attempts of bc-mine's finished searches (rate() gives the hash rate).", func() float64 {
			st, _ := n.minerStatus()
			return float64(st.Attempts)
		}),
		counter("bc_miner_blocks_mined_total", "Blocks bc-mine appended.", func() float64 {
			st, _ := n.minerStatus()
			return float64(st.Blocks)
		}),
		counter("bc_gossip_blocks_adopted_total", "Blocks bc-gossip took from peers.", func() float64 {
			st, _ := n.gossipStatus()
			return float64(st.BlocksAdopted)
		}),
		counter("bc_gossip_reorgs_total", "Chain replacements by bc-gossip.", func() float64 {
			st, _ := n.gossipStatus()
			return float64(st.Reorgs)
		}),
		gauge("bc_event_clients", "Connected /events streams.", func() float64 { return float64(s.hub.clients()) }),
		gauge("bc_http_connections", "Open HTTP connections.", func() float64 {
			open, _ := s.conns.stats()
			return float64(open)
		}),
		counter("bc_http_connections_shed_total", "Connections closed at once for the per-IP or total connection limit.", func() float64 {
			_, shed := s.conns.stats()
			return float64(shed)
		}),
	)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

func (m *metrics) observe(route, method string, code int, d time.Duration, n int64) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
	m.bytes.WithLabelValues(route).Add(float64(n))
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }
