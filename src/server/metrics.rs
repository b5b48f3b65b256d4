//! `GET /_admin/metrics/v2` (and `/_admin/metrics`): the server's metrics in Prometheus' text format, as
//! ArangoDB serves them (`--server.export-metrics-api`, administrator rights).

use crate::error::{ArangoError, codes};
use crate::server::http::{ApiError, Ctx};
use crate::server::{Shared, blocking};
use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// `GET /_admin/metrics[/v2]`.
pub async fn metrics(State(st): State<Shared>, Extension(ctx): Extension<Ctx>) -> Response {
    if !st.export_metrics {
        // as ArangoDB with `--server.export-metrics-api false`
        return ApiError(ArangoError::with_message(
            codes::HTTP_NOT_FOUND,
            "the metrics API is turned off on this server (--server.export-metrics-api false)",
        ))
        .into_response();
    }
    if !ctx.superuser {
        return ApiError(ArangoError::with_message(
            codes::FORBIDDEN,
            "forbidden: reading the metrics needs administrator rights",
        ))
        .into_response();
    }
    let state = st.clone();
    let text = blocking(move || Ok(render(&state))).await;
    match text {
        Ok(t) => {
            let mut r = (StatusCode::OK, t).into_response();
            r.headers_mut().insert(
                "content-type",
                HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
            );
            r
        }
        Err(e) => e.into_response(),
    }
}

/// Sets the gauges from the server's state and renders everything.
fn render(st: &Shared) -> String {
    let r = &st.metrics;
    let store = &st.store;
    let first = store.first_tick().ok().flatten().unwrap_or(0);
    r.gauge(
        "arangorepl_replication_log_first_tick",
        "The first tick still in the replication log (0 when it is empty)",
        &[],
    )
    .set(first as f64);
    r.gauge(
        "arangorepl_replication_log_last_tick",
        "The last tick committed to the replication log",
        &[],
    )
    .set(store.last_tick() as f64);
    r.gauge(
        "arangorepl_replication_log_bytes",
        "Bytes of markers in the replication log",
        &[],
    )
    .set(store.log_bytes() as f64);
    r.gauge(
        "arangorepl_replication_log_holds",
        "Live holds on the replication log (dump batches and followers keeping markers from pruning)",
        &[],
    )
    .set(store.hold_count() as f64);
    st.leader.record_metrics(r);
    st.appliers.record_metrics(r);
    r.render()
}
