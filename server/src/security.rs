//! Request guards and response hardening that apply to every route.

use app::error::AppError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Server fns are plain POST endpoints: refuse state-changing requests sent by another site
/// (CSRF). Browsers send `Sec-Fetch-Site` and/or `Origin`; clients that send neither (curl,
/// channel integrations using API keys) are not browsers riding on a cookie.
pub async fn refuse_cross_site(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let headers = req.headers();
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let cross_by_fetch = matches!(fetch_site, Some(s) if s != "same-origin" && s != "none");
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let cross_by_origin = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            None => false,
            Some(origin) => {
                let origin_host = origin.split_once("://").map(|(_, h)| h);
                origin == "null" || origin_host != host
            }
        };
        if cross_by_fetch || cross_by_origin {
            tracing::warn!(
                ?fetch_site,
                "refused a cross-site {} to {}",
                req.method(),
                req.uri().path()
            );
            return error_response(
                &AppError::request(
                    "Cross-site requests are not allowed. Open Songda directly and try again.",
                ),
                StatusCode::FORBIDDEN,
            );
        }
    }
    next.run(req).await
}

fn error_response(err: &AppError, status: StatusCode) -> Response {
    let body = serde_json::to_string(err).unwrap_or_else(|e| {
        tracing::error!("serializing an error response: {e}");
        "{}".into()
    });
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Server fns answer errors with 500 and the serialized `AppError`; give them their real status
/// (401, 403, 422, 429 with Retry-After, …) so HTTP clients and logs see what happened.
pub async fn server_fn_error_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if !res.headers().contains_key("serverfnerror") {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "error").into_response();
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(err.status()) {
            parts.status = status;
        }
        if let AppError::TooManyRequests { retry_after_secs } = err {
            parts
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The Content-Security-Policy; `script_src` adds sources beyond our own origin and wasm.
/// Leaflet tiles (later) are images from https; the live feed uses WebSockets.
fn csp(script_src: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self'{script_src} 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; connect-src 'self' ws: wss:; \
         font-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// For everything but pages: no inline script at all.
pub fn content_security_policy() -> HeaderValue {
    HeaderValue::from_str(&csp("")).expect("static CSP is a valid header value")
}

/// Pages carry the hydration bootstrap as an inline script: allow exactly the scripts that
/// carry this response's nonce (Leptos generates one per page render), nothing else inline.
pub fn page_content_security_policy(nonce: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&csp(&format!(" 'nonce-{nonce}'"))).ok()
}
