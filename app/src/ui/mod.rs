//! Shared components: errors, pagination, loading states, maps.

pub mod map;

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use crate::error::AppError;
use crate::page::Page;

/// Percent-encodes everything but unreserved characters (for a path inside a query string).
pub fn encode_query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Shows an error the way its kind deserves: anonymous → log in and come back; wrong role →
/// 403 page; anything else → its public message. Sets the HTTP status during SSR.
#[component]
pub fn ErrorView(error: AppError) -> impl IntoView {
    if error == AppError::Unauthorized {
        let location = use_location();
        let search = location.search.get_untracked();
        let here = if search.is_empty() {
            location.pathname.get_untracked()
        } else {
            format!("{}?{}", location.pathname.get_untracked(), search)
        };
        let path = format!("/login?next={}", encode_query_value(&here));
        return view! { <Redirect path=path/> }.into_any();
    }
    #[cfg(feature = "ssr")]
    if let (Some(res), Ok(code)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(error.status()),
    ) {
        res.set_status(code);
    }
    let (title, test) = match &error {
        AppError::Forbidden => ("Not for your account (403)", "forbidden"),
        AppError::NotFound => ("Not found (404)", "not-found"),
        _ => ("Something went wrong", "error"),
    };
    view! {
        <section class="notice" data-test=test role="alert">
            <h1>{title}</h1>
            <p>{error.to_string()}</p>
            <p><a href="/">"Go to the home page"</a></p>
        </section>
    }
    .into_any()
}

/// Waits for a server fn's answer: a loading line meanwhile, then `render` for the value,
/// or the [`ErrorView`] for an error (which also handles log-in redirects and 403s).
pub fn when_loaded<T, V>(
    resource: Resource<Result<T, AppError>>,
    render: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=Loading>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(value) => render(value).into_any(),
                        Err(error) => view! { <ErrorView error/> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" aria-busy="true">"Loading…"</p> }
}

/// Links to the previous and next page of a list (plain links: works before hydration too).
#[component]
pub fn Pager<T: 'static>(page: Page<T>, base: String) -> impl IntoView {
    let pages = page.pages();
    let current = page.page;
    let sep = if base.contains('?') { '&' } else { '?' };
    let link = move |p: u32| format!("{base}{sep}page={p}");
    view! {
        <nav class="pager" aria-label="Pages" data-test="pager">
            {(current > 1).then(|| view! { <a rel="prev" href=link(current - 1)>"← Previous"</a> })}
            <span>{format!("Page {current} of {pages} · {} in all", page.total)}</span>
            {(current < pages).then(|| view! { <a rel="next" href=link(current + 1)>"Next →"</a> })}
        </nav>
    }
}

/// Follows a live feed (browser only): `changed` runs on each of `events`; `live` says whether
/// the connection is up. EventSource reconnects by itself.
pub fn follow_feed(
    url: String,
    events: &'static [&'static str],
    changed: impl Fn() + 'static,
    live: RwSignal<bool>,
) {
    follow_events(url, events, move |_, _| changed(), Some(live));
}

/// Like [`follow_feed`], handing each event's name and data to `on_event`.
pub fn follow_events(
    url: String,
    events: &'static [&'static str],
    on_event: impl Fn(&str, String) + 'static,
    live: Option<RwSignal<bool>>,
) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let Ok(source) = web_sys::EventSource::new(&url) else {
        return;
    };
    let on_event =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let data = ev.data().as_string().unwrap_or_default();
            on_event(&ev.type_(), data);
        });
    let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(live) = live {
            live.set(true);
        }
    });
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(live) = live {
            live.set(false);
        }
    });
    for event in events {
        let _ = source.add_event_listener_with_callback(event, on_event.as_ref().unchecked_ref());
    }
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let held = send_wrapper::SendWrapper::new((source, on_event, on_open, on_error));
    on_cleanup(move || {
        let (source, ..) = held.take();
        source.close();
    });
}

/// A path parameter that must be a UUID (`None` when absent or malformed: the page shows 404).
pub fn uuid_param(
    name: &'static str,
) -> impl Fn() -> Option<uuid::Uuid> + Copy + Send + Sync + 'static {
    let params = leptos_router::hooks::use_params_map();
    move || {
        params
            .read()
            .get(name)
            .and_then(|s| uuid::Uuid::parse_str(&s).ok())
    }
}

/// The `page` query parameter (1 when absent or not a number).
pub fn page_param() -> impl Fn() -> u32 + Copy + Send + Sync + 'static {
    let query = leptos_router::hooks::use_query_map();
    move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
    }
}

/// POSTs `body` (a file, bytes) to `url` with the session cookie; the response's status, or a
/// message when the server could not be reached.
pub async fn post_body(url: &str, body: &wasm_bindgen::JsValue) -> Result<u16, String> {
    use wasm_bindgen::JsCast;
    let offline = || "Could not reach Songda. Check your connection and try again.".to_string();
    let window = web_sys::window().ok_or_else(offline)?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(body);
    let res: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init))
            .await
            .map_err(|_| offline())?
            .dyn_into()
            .map_err(|_| offline())?;
    Ok(res.status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_values() {
        assert_eq!(
            encode_query_value("/merchant?x=1&y"),
            "/merchant%3Fx%3D1%26y"
        );
        assert_eq!(encode_query_value("/ops"), "/ops");
    }
}
