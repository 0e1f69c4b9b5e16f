//! The daemon's HTTP endpoint on its loopback metrics port: `GET /metrics` (the counters of
//! [`super::metrics`]) and `GET /why?domain=DOMAIN[&map=NAME]` (the reasons behind an answer,
//! [`super::why`], for `mxsec doctor --why`) and `GET /status` (the refresh rounds and the
//! policy hosts seen, [`super::activity`], for `mxsec doctor`). Any other path is 404.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use mxsec_proto::name::Destination;
use tokio::net::TcpListener;

use super::metrics::MAX_SCRAPERS;
use super::service::Shared;
use super::why::WhyError;
use crate::http::{self, Transport};

/// Serves `GET /metrics`, `GET /why` ([`why`](super::why)) and `GET /status` on `listener` until
/// `shutdown` completes; any other path is 404.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    let metrics = shared.metrics.clone();
    let router = Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                        metrics.render(),
                    )
                }
            }),
        )
        .route("/why", get(why))
        .route("/status", get(status))
        .with_state(shared);
    let limits = http::Limits::connections(MAX_SCRAPERS);
    if let Err(err) = http::serve(listener, router, Transport::Plain, limits, shutdown).await {
        tracing::error!(error = %err, "metrics endpoint stopped");
    }
}

/// Serves `/status`.
async fn status(State(shared): State<Arc<Shared>>) -> Response {
    let refresh = shared.current().refresh.clone();
    match serde_json::to_string_pretty(&shared.metrics.activity.status(&refresh)) {
        Ok(json) => ([(CONTENT_TYPE, "application/json")], json + "\n").into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{err}\n")).into_response(),
    }
}

/// Serves `/why`.
async fn why(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let Some(domain) = parameter(&query, "domain") else {
        return (StatusCode::BAD_REQUEST, "missing domain=\n").into_response();
    };
    let Ok(destination) = Destination::parse(domain) else {
        return (StatusCode::BAD_REQUEST, "not a destination name\n").into_response();
    };
    let map = parameter(&query, "map").unwrap_or_default();
    let name = domain.trim().to_ascii_lowercase();
    match shared
        .current()
        .why(&destination, &name, map, Instant::now())
        .await
    {
        Ok(why) => match serde_json::to_string_pretty(&why) {
            Ok(json) => ([(CONTENT_TYPE, "application/json")], json + "\n").into_response(),
            Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{err}\n")).into_response(),
        },
        Err(WhyError::Timeout) => (
            StatusCode::GATEWAY_TIMEOUT,
            "the lookup did not finish within limits.query_timeout\n",
        )
            .into_response(),
    }
}

/// The value of parameter `name` in the query string `query`, taken as it is: domain names and
/// map names need no percent-decoding, and a `%` makes the name invalid.
fn parameter<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}
