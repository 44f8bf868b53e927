//! The service worker (`/sw.js`), stamped with the deploy it belongs to: its cache is named
//! after the files this server serves, so a new deploy gets a new cache and the old one is
//! deleted when the new worker activates.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use app::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

const TEMPLATE: &str = include_str!("pwa/sw.js");

/// Names, sizes and modification times of the built front end (`pkg/`), hashed.
fn deploy_version(state: &AppState) -> String {
    let opts = &state.leptos_options;
    let dir = std::path::Path::new(opts.site_root.as_ref()).join(opts.site_pkg_dir.as_ref());
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        e.file_name().hash(&mut hasher);
        if let Ok(meta) = e.metadata() {
            meta.len().hash(&mut hasher);
            if let Ok(modified) = meta.modified() {
                modified.hash(&mut hasher);
            }
        }
    }
    format!("{}-{:016x}", env!("CARGO_PKG_VERSION"), hasher.finish())
}

pub async fn service_worker(State(state): State<AppState>) -> impl IntoResponse {
    static SCRIPT: OnceLock<String> = OnceLock::new();
    let script = SCRIPT.get_or_init(|| TEMPLATE.replace("__VERSION__", &deploy_version(&state)));
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // The browser must check for a new worker on every visit.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        script.clone(),
    )
}
