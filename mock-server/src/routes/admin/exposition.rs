//! `GET /__admin/metrics`: the server's counters in the OpenMetrics text format (which Prometheus
//! scrapes), encoded by `prometheus-client` from the atomics the server keeps anyway.
//!
//! Nothing here runs on the request path: a [`Snapshot`] collector reads [`Metrics`](crate::metrics::Metrics)
//! (requests and latency per route and status), the store's sizes, the fault counters and both
//! journals' drop counts at scrape time, so serving a request costs no lock and no label lookup.

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet},
    metrics::{MetricType, counter::ConstCounter, gauge::ConstGauge},
    registry::{Registry, Unit},
};
use shared::admin::fault_counters;

use crate::state::AppState;

/// Media type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The exposition of `state`, ending with `# EOF`.
pub fn render(state: &AppState) -> String {
    let mut registry = Registry::with_prefix("mock");
    registry.register_collector(Box::new(Snapshot(state.clone())));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .expect("writing to a String cannot fail");
    text
}

/// Reads the server's counters when scraped.
#[derive(Debug)]
struct Snapshot(AppState);

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let state = &self.0;
        let series = state.metrics.series();

        let mut family = encoder.encode_descriptor(
            "requests",
            "Requests answered, by method, route template and status",
            None,
            MetricType::Counter,
        )?;
        for one in &series {
            let labels = route_labels(one);
            ConstCounter::new(one.count).encode(family.encode_family(&labels)?)?;
        }

        let mut family = encoder.encode_descriptor(
            "request_duration",
            "Time from routing to the response head, by method, route template and status",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for one in &series {
            let labels = route_labels(one);
            let (sum, count, buckets) = &one.latency;
            family
                .encode_family(&labels)?
                .encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)?;
        }

        let faults = state.faults.view();
        let counters = state.faults.counters();
        let mut family = encoder.encode_descriptor(
            "fault_fires",
            "Requests on which a fault of the catalogue fired, by fault",
            None,
            MetricType::Counter,
        )?;
        for fault in &faults.faults {
            let fires = counters.get(&fault.name).copied().unwrap_or(0);
            ConstCounter::new(fires).encode(family.encode_family(&[("fault", &fault.name)])?)?;
        }
        let mut family = encoder.encode_descriptor(
            "fault_enabled",
            "Whether a fault of the catalogue is switched on (1) or off (0)",
            None,
            MetricType::Gauge,
        )?;
        for fault in &faults.faults {
            ConstGauge::new(i64::from(fault.enabled))
                .encode(family.encode_family(&[("fault", &fault.name)])?)?;
        }

        let counter = |name| counters.get(name).copied().unwrap_or(0);
        let plain = [
            (
                "cross_user_reads",
                "Responses that carried another user's data (fault journal)",
                counter(fault_counters::CROSS_USER_READS),
            ),
            (
                "cross_user_writes",
                "Writes that landed in or overwrote another user's data (fault journal)",
                counter(fault_counters::CROSS_USER_WRITES),
            ),
            (
                "fault_journal_dropped",
                "Fault journal entries pushed out of its ring buffer",
                counter(fault_counters::JOURNAL_DROPPED),
            ),
            (
                "request_journal_dropped",
                "Request journal entries pushed out of its rings",
                state.requests.dropped(),
            ),
        ];
        for (name, help, value) in plain {
            let family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value).encode(family)?;
        }

        let gauges = [
            ("users", "Accounts in the store", state.store.user_count()),
            ("cities", "Cities in the store", state.store.city_count()),
            (
                "uptime",
                "Seconds since the server started",
                usize::try_from(state.started.elapsed().as_secs()).unwrap_or(usize::MAX),
            ),
        ];
        for (name, help, value) in gauges {
            let unit = (name == "uptime").then_some(Unit::Seconds);
            let family = encoder.encode_descriptor(name, help, unit.as_ref(), MetricType::Gauge)?;
            ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX)).encode(family)?;
        }
        Ok(())
    }
}

fn route_labels(series: &crate::metrics::Series) -> [(&'static str, String); 3] {
    [
        ("method", series.method.clone()),
        ("route", series.route.clone()),
        ("status", series.status.to_string()),
    ]
}
