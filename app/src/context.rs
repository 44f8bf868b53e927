//! Request-scoped helpers for server fns: state, request id, cookies, client address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::HeaderValue;
use http::header::{ACCEPT, COOKIE, SET_COOKIE};
use http::request::Parts;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use crate::error::AppError;
use crate::state::AppState;

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| AppError::internal("AppState missing from context"))
}

pub fn request_id() -> Option<String> {
    let parts = use_context::<Parts>()?;
    let id = parts.headers.get("x-request-id")?.to_str().ok()?;
    Some(id.to_string())
}

pub fn cookie(name: &str) -> Option<String> {
    let parts = use_context::<Parts>()?;
    cookie_in(&parts.headers, name)
}

/// A cookie's value from request headers (for handlers outside Leptos, e.g. the live feed).
pub fn cookie_in(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn set_cookie(value: &str) -> Result<(), AppError> {
    let res = use_context::<ResponseOptions>()
        .ok_or_else(|| AppError::internal("ResponseOptions missing from context"))?;
    let value = HeaderValue::from_str(value).map_err(AppError::internal)?;
    res.append_header(SET_COOKIE, value);
    Ok(())
}

pub fn client_ip() -> Result<IpAddr, AppError> {
    let parts =
        use_context::<Parts>().ok_or_else(|| AppError::internal("request parts missing"))?;
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .ok_or_else(|| AppError::internal("client address missing (serve with connect info)"))
}

/// A plain HTML form post (no JavaScript yet) should land on `target`; a hydrated page
/// navigates by itself.
pub fn redirect_plain_form(target: &str) {
    let plain = use_context::<Parts>()
        .and_then(|p| {
            p.headers
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false);
    if plain {
        leptos_axum::redirect(target);
    }
}
