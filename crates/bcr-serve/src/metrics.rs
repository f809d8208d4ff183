//! `/metrics`: the gateway's Prometheus counters, in the text exposition
//! format (`prometheus-client`).
//!
//! | metric | kind | what |
//! |---|---|---|
//! | `bcr_serve_queue_depth` | gauge | packable questions waiting to be packed |
//! | `bcr_serve_in_flight` | gauge | backend calls running |
//! | `bcr_serve_n_floor` | gauge | the adaptive controller's floor of N |
//! | `bcr_serve_n_best` | gauge | the cheapest N the adaptive controller knows: what it sends when the queue asks for at least that many (`crate::policy`) |
//! | `bcr_serve_seconds_per_answer{n}` | gauge | mean backend seconds per answer of the packs of N sent into the last free slot (a call's time / N): the cost the adaptive controller compares |
//! | `bcr_serve_pack_size` | histogram | N of each pack sent |
//! | `bcr_serve_tokens_per_answer` | histogram | completion tokens billed to each answer |
//! | `bcr_serve_latency_seconds` | histogram | arrival to answer, per request |
//! | `bcr_serve_requests_total{route}` | counter | requests answered, `packed` or `passthrough` |
//! | `bcr_serve_reasks_total` | counter | sections re-asked alone at N = 1 |
//! | `bcr_serve_errors_total{kind}` | counter | error responses by kind (`invalid_request`, `auth`, `too_large`, `queue_full`, `upstream`) |

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(String, String)>;

/// Every metric of the gateway.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Packable questions waiting.
    pub queue_depth: Gauge,
    /// Backend calls running.
    pub in_flight: Gauge,
    /// The controller's floor of N.
    pub n_floor: Gauge,
    /// The cheapest N the controller knows (`Controller::best_n`).
    pub n_best: Gauge,
    seconds_per_answer: Family<Labels, Gauge<f64, AtomicU64>>,
    /// N per pack.
    pub pack_size: Histogram,
    /// Completion tokens per answer.
    pub tokens_per_answer: Histogram,
    /// Seconds from arrival to answer.
    pub latency: Histogram,
    requests: Family<Labels, Counter>,
    /// Sections re-asked at N = 1.
    pub reasks: Counter,
    errors: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("bcr_serve");
        let m = Metrics {
            queue_depth: Gauge::default(),
            in_flight: Gauge::default(),
            n_floor: Gauge::default(),
            n_best: Gauge::default(),
            seconds_per_answer: Family::default(),
            pack_size: Histogram::new([1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0]),
            tokens_per_answer: Histogram::new(exponential_buckets(16.0, 2.0, 12)),
            latency: Histogram::new(exponential_buckets(0.005, 2.0, 16)),
            requests: Family::default(),
            reasks: Counter::default(),
            errors: Family::default(),
            registry: Registry::default(),
        };
        registry.register("queue_depth", "Packable questions waiting to be packed", m.queue_depth.clone());
        registry.register("in_flight", "Backend calls running", m.in_flight.clone());
        registry.register("n_floor", "The adaptive controller's floor of N", m.n_floor.clone());
        registry.register(
            "n_best",
            "The cheapest N the adaptive controller knows (sent when the queue asks for at least that many)",
            m.n_best.clone(),
        );
        registry.register(
            "seconds_per_answer",
            "Mean backend seconds per answer of the packs of N sent into the last free slot",
            m.seconds_per_answer.clone(),
        );
        registry.register("pack_size", "Problems per pack sent", m.pack_size.clone());
        registry.register("tokens_per_answer", "Completion tokens billed to each answer", m.tokens_per_answer.clone());
        registry.register("latency_seconds", "Seconds from arrival to answer", m.latency.clone());
        registry.register("requests", "Requests answered, by route", m.requests.clone());
        registry.register("reasks", "Sections re-asked alone at N = 1", m.reasks.clone());
        registry.register("errors", "Error responses by kind", m.errors.clone());
        Metrics { registry, ..m }
    }

    /// Counts one answered request on `route` (`packed` or `passthrough`).
    pub fn answered(&self, route: &str) {
        self.requests.get_or_create(&vec![("route".into(), route.into())]).inc();
    }

    /// Sets the mean backend seconds per answer of packs of `n`.
    pub fn set_seconds_per_answer(&self, n: usize, seconds: f64) {
        self.seconds_per_answer.get_or_create(&vec![("n".into(), n.to_string())]).set(seconds);
    }

    /// Counts one error response of `kind`.
    pub fn error(&self, kind: &str) {
        self.errors.get_or_create(&vec![("kind".into(), kind.into())]).inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
