//! The HTTP side: routes, the streamed report page, the JSON API, limits and headers.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the page with the one input (and, in the demo, the scenario list) |
//! | `POST /check` | the form: `303 See Other` to `/check/DOMAIN`, or the form again with the error |
//! | `GET /check/DOMAIN` | the report page, streamed as the checks finish (chunked HTML) |
//! | `GET /api/v1/check/DOMAIN` | the report as JSON, exactly one line of `mxsec check --json` |
//! | `GET /scan` | the summary of a finished scan (`mxsec web --scan RESULTS`), else 404 |
//! | `GET /api/v1/scan` | that summary as JSON, exactly `mxsec check --summary=json` |
//! | `GET /healthz` | `{"status":"ok",...}` |
//! | `GET /assets/…` | the style sheet, the script and the icon, built into the program |
//!
//! The only redirect goes to `/check/` followed by a validated, normalised domain name (letters,
//! digits, `-` and `.` only), so it can never lead off the site. Every page sends a strict
//! Content-Security-Policy (`'self'` only, no inline script).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use futures::StreamExt;
use mxsec_check::report::json::{self, Failure};
use mxsec_check::report::summary::{self, ScanSummary};
use mxsec_proto::name::DomainName;
use serde::Deserialize;

use super::checks::{self, Busy, CheckState, Checks};
use super::input::{self, InputError};
use super::limits::RateLimiter;
use super::page::{self, DemoScenario};

/// The style sheet.
const CSS: &str = include_str!("assets/mxsec.css");
/// The script that improves the page when JavaScript runs (the page works without it).
const JS: &str = include_str!("assets/mxsec.js");
/// The icon.
const ICON: &str = include_str!("assets/icon.svg");

/// The largest request body read (the form has one short field).
const MAX_BODY: usize = 4096;

/// The server's shared state.
pub(crate) struct App {
    checks: Checks,
    limiter: RateLimiter,
    demo: Option<Vec<DemoScenario>>,
    scan: Option<ScanPages>,
}

/// A finished scan's summary, rendered once: the page and the JSON.
struct ScanPages {
    html: String,
    json: String,
}

impl App {
    /// The state: checks, the per-client limit, the demo's scenarios and a finished scan's
    /// summary, if any.
    pub(crate) fn new(
        checks: Checks,
        limiter: RateLimiter,
        demo: Option<Vec<DemoScenario>>,
        scan: Option<&ScanSummary>,
    ) -> Self {
        let scan = scan.map(|s| ScanPages {
            html: page::scan(&summary::html::fragment(s)),
            json: format!("{}\n", s.to_json()),
        });
        Self {
            checks,
            limiter,
            demo,
            scan,
        }
    }
}

/// The routes.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(front))
        .route("/check", post(check_form))
        .route("/check/{domain}", get(check_page))
        .route("/api/v1/check/{domain}", get(check_api))
        .route("/scan", get(scan_page))
        .route("/api/v1/scan", get(scan_api))
        .route("/healthz", get(healthz))
        .route(
            "/assets/mxsec.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/assets/mxsec.js",
            get(|| async { asset("text/javascript; charset=utf-8", JS) }),
        )
        .route(
            "/assets/icon.svg",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

// ---- handlers ---------------------------------------------------------------------------------

async fn front(State(app): State<Arc<App>>) -> Response {
    html(
        StatusCode::OK,
        page::front(app.demo.as_deref(), app.scan.is_some()),
    )
}

#[derive(Debug, Deserialize)]
struct CheckForm {
    domain: String,
}

async fn check_form(form: Result<Form<CheckForm>, FormRejection>) -> Response {
    let Ok(Form(form)) = form else {
        return html(
            StatusCode::BAD_REQUEST,
            page::bad_input("", &InputError::Empty.to_string()),
        );
    };
    match input::parse_domain(&form.domain) {
        Ok(domain) => see_other(&domain),
        Err(err) => html(
            StatusCode::BAD_REQUEST,
            page::bad_input(&form.domain, &err.to_string()),
        ),
    }
}

async fn check_page(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let raw = path.map(|Path(p)| p).unwrap_or_default();
    let domain = match input::parse_domain(&raw) {
        Ok(domain) => domain,
        Err(err) => {
            return html(
                StatusCode::BAD_REQUEST,
                page::bad_input(&raw, &err.to_string()),
            )
        }
    };
    if let Err(wait) = app.limiter.take(peer.ip(), Instant::now()) {
        return retry_page(
            StatusCode::TOO_MANY_REQUESTS,
            &domain,
            "Too many checks",
            "You have started many checks in a short time.",
            wait,
        );
    }
    let state = match app.checks.start(&domain) {
        Ok(state) => state,
        Err(Busy { retry_after: wait }) => {
            return retry_page(
                StatusCode::SERVICE_UNAVAILABLE,
                &domain,
                "Busy",
                "The checker is busy with other checks.",
                wait,
            )
        }
    };
    let start = format!(
        "{}{}",
        page::head(&format!("mxsec: {domain}"), domain.as_str(), None),
        page::report_start(domain.as_str())
    );
    let rest = async move {
        let body = match checks::finished(state).await {
            CheckState::Done(report) => mxsec_check::report::html::render(&report),
            CheckState::TimedOut(limit) => page::report_failed(
                domain.as_str(),
                &format!("The check did not finish within {} s.", limit.as_secs()),
            ),
            CheckState::Running => String::new(),
        };
        Ok::<_, Infallible>(Bytes::from(format!(
            "{body}{}{}",
            page::report_end(),
            page::report_foot()
        )))
    };
    let stream = futures::stream::once(async move { Ok::<_, Infallible>(Bytes::from(start)) })
        .chain(futures::stream::once(rest));
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Ask proxies not to buffer the stream, so the page fills in as checks finish.
    headers.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    response
}

async fn check_api(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let raw = path.map(|Path(p)| p).unwrap_or_default();
    let domain = match input::parse_domain(&raw) {
        Ok(domain) => domain,
        Err(err) => return failure(StatusCode::BAD_REQUEST, &raw, &err.to_string(), None),
    };
    if let Err(wait) = app.limiter.take(peer.ip(), Instant::now()) {
        let secs = whole_seconds(wait);
        return failure(
            StatusCode::TOO_MANY_REQUESTS,
            domain.as_str(),
            &format!("rate limited: retry in {secs} s"),
            Some(secs),
        );
    }
    let state = match app.checks.start(&domain) {
        Ok(state) => state,
        Err(Busy { retry_after: wait }) => {
            let secs = whole_seconds(wait);
            return failure(
                StatusCode::SERVICE_UNAVAILABLE,
                domain.as_str(),
                &format!("busy, retry in {secs} s"),
                Some(secs),
            );
        }
    };
    match checks::finished(state).await {
        CheckState::Done(report) => {
            json_response(StatusCode::OK, format!("{}\n", json::to_line(&report)))
        }
        CheckState::TimedOut(limit) => failure(
            StatusCode::GATEWAY_TIMEOUT,
            domain.as_str(),
            &format!("the check did not finish within {} s", limit.as_secs()),
            None,
        ),
        CheckState::Running => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            domain.as_str(),
            "the check ended without a result",
            None,
        ),
    }
}

async fn scan_page(State(app): State<Arc<App>>) -> Response {
    match &app.scan {
        Some(scan) => html(StatusCode::OK, scan.html.clone()),
        None => not_found().await,
    }
}

async fn scan_api(State(app): State<Arc<App>>) -> Response {
    match &app.scan {
        Some(scan) => json_response(StatusCode::OK, scan.json.clone()),
        None => failure(
            StatusCode::NOT_FOUND,
            "",
            "no scan: start mxsec web with --scan RESULTS",
            None,
        ),
    }
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let body = serde_json::json!({
        "status": "ok",
        "checks_running": app.checks.running(),
        "check_time_limit_s": app.checks.time_limit().as_secs(),
    });
    json_response(StatusCode::OK, format!("{body}\n"))
}

async fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        page::notice(
            "",
            "Not found",
            "There is no such page. Type a domain to check it.",
        ),
    )
}

// ---- responses --------------------------------------------------------------------------------

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn failure(status: StatusCode, input: &str, error: &str, retry: Option<u64>) -> Response {
    let mut response = json_response(
        status,
        format!("{}\n", json::failure_to_line(&Failure::new(input, error))),
    );
    if let Some(secs) = retry {
        retry_after(response.headers_mut(), secs);
    }
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// `303 See Other` to the report page of a validated domain. A [`DomainName`] holds only
/// letters, digits, `-`, `_` and `.`, so the location is always a path on this site.
fn see_other(domain: &DomainName) -> Response {
    let location = format!("/check/{domain}");
    match HeaderValue::from_str(&location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => html(
            StatusCode::BAD_REQUEST,
            page::bad_input(domain.as_str(), "that is not a domain name"),
        ),
    }
}

/// A notice page that asks to retry after `wait` (HTTP 429 or 503, with `Retry-After`).
fn retry_page(
    status: StatusCode,
    domain: &DomainName,
    title: &str,
    why: &str,
    wait: Duration,
) -> Response {
    let secs = whole_seconds(wait);
    let mut response = html(
        status,
        page::notice(domain.as_str(), title, &format!("{why} Retry in {secs} s.")),
    );
    retry_after(response.headers_mut(), secs);
    response
}

fn retry_after(headers: &mut HeaderMap, secs: u64) {
    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
}

fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Headers on every response: no framing, no sniffing, no referrer, and a policy that lets the
/// page load only what this server serves.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
