//! Scanning the packing label's QR code with the phone's camera, where the browser has the
//! `BarcodeDetector` API (Chrome on Android, ChromeOS, macOS); elsewhere the courier types the
//! code printed under the QR. A label for another order (another bag, another store) is
//! refused on the phone before anything is sent; the server checks the code again.

use leptos::prelude::*;
use uuid::Uuid;

/// How often a video frame is looked at.
#[cfg(feature = "hydrate")]
const SCAN_EVERY_MS: i32 = 300;

/// A "Scan label" button for this order's pickup; `found` gets the code read from its label.
#[component]
pub fn LabelScanner(order_id: Uuid, found: Callback<String>) -> impl IntoView {
    let available = RwSignal::new(false);
    Effect::new(move |_| available.set(detector_available()));
    let scanning = RwSignal::new(false);
    let message = RwSignal::new(None::<String>);
    let video = NodeRef::<leptos::html::Video>::new();
    let start = move |_| {
        message.set(None);
        scanning.set(true);
    };
    Effect::new(move |_| {
        if scanning.get()
            && let Some(el) = video.get()
        {
            scan(el, order_id, found, scanning, message);
        }
    });
    view! {
        <Show when=move || available.get()>
            <button type="button" data-test="scan-label" on:click=start disabled=move || scanning.get()>
                "Scan label 扫码取货"</button>
        </Show>
        <Show when=move || scanning.get()>
            <div class="scanner" data-test="scanner">
                <video node_ref=video autoplay=true muted=true playsinline=true class="scanner-video"></video>
                <button type="button" on:click=move |_| scanning.set(false)>"Cancel 取消"</button>
            </div>
        </Show>
        <p class="field-error" role="alert" data-test="scan-error">{move || message.get()}</p>
    }
}

#[cfg(feature = "hydrate")]
fn detector_available() -> bool {
    web_sys::window()
        .is_some_and(|w| js_sys::Reflect::has(&w, &"BarcodeDetector".into()).unwrap_or(false))
}

#[cfg(not(feature = "hydrate"))]
fn detector_available() -> bool {
    false
}

/// Opens the back camera into `el` and looks for a QR code until one is read, the courier
/// cancels, or the camera is refused. Stops the camera in every case.
#[cfg(feature = "hydrate")]
fn scan(
    el: web_sys::HtmlVideoElement,
    order_id: Uuid,
    found: Callback<String>,
    scanning: RwSignal<bool>,
    message: RwSignal<Option<String>>,
) {
    use js_sys::{Array, Function, Object, Promise, Reflect};
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    async fn run(
        el: &web_sys::HtmlVideoElement,
        order_id: Uuid,
        scanning: RwSignal<bool>,
    ) -> Result<Option<String>, String> {
        let window = web_sys::window().ok_or("No browser window.")?;
        let denied =
            |_| "The camera is off or denied: type the code under the QR instead.".to_string();
        let constraints = web_sys::MediaStreamConstraints::new();
        let video = Object::new();
        Reflect::set(&video, &"facingMode".into(), &"environment".into()).map_err(denied)?;
        constraints.set_video(&video);
        let devices = window.navigator().media_devices().map_err(denied)?;
        let stream: web_sys::MediaStream = JsFuture::from(
            devices
                .get_user_media_with_constraints(&constraints)
                .map_err(denied)?,
        )
        .await
        .map_err(denied)?
        .dyn_into()
        .map_err(denied)?;
        el.set_src_object(Some(&stream));
        let stop = || {
            for t in stream.get_tracks().iter() {
                if let Ok(t) = t.dyn_into::<web_sys::MediaStreamTrack>() {
                    t.stop();
                }
            }
        };
        let broken = |_| "This phone cannot read QR codes here: type the code instead.".to_string();
        let ctor: Function = Reflect::get(&window, &"BarcodeDetector".into())
            .and_then(|c| c.dyn_into())
            .map_err(broken)?;
        let options = Object::new();
        Reflect::set(&options, &"formats".into(), &Array::of1(&"qr_code".into()))
            .map_err(broken)?;
        let detector = Reflect::construct(&ctor, &Array::of1(&options)).map_err(broken)?;
        let detect: Function = Reflect::get(&detector, &"detect".into())
            .and_then(|d| d.dyn_into())
            .map_err(broken)?;
        let result = loop {
            if !scanning.get_untracked() {
                break Ok(None);
            }
            pause(&window, SCAN_EVERY_MS).await;
            if el.ready_state() < 2 {
                continue;
            }
            let Ok(promise) = detect.call1(&detector, el).map(Promise::from) else {
                continue;
            };
            let Ok(codes) = JsFuture::from(promise).await else {
                continue;
            };
            let raw = Array::from(&codes)
                .iter()
                .filter_map(|c| Reflect::get(&c, &"rawValue".into()).ok()?.as_string())
                .next();
            let Some(raw) = raw else { continue };
            break match crate::orders::board::parse_handover(&raw) {
                Some((id, code)) if id == order_id => Ok(Some(code)),
                Some(_) => {
                    Err("This label belongs to another order: check the bag and the store.".into())
                }
                None => Err("That is not a Songda label: scan the QR on the packing label.".into()),
            };
        };
        stop();
        el.set_src_object(None);
        result
    }

    async fn pause(window: &web_sys::Window, ms: i32) {
        let p = Promise::new(&mut |resolve, _| {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        });
        let _ = JsFuture::from(p).await;
    }

    leptos::task::spawn_local(async move {
        let outcome = run(&el, order_id, scanning).await;
        scanning.set(false);
        match outcome {
            Ok(Some(code)) => found.run(code),
            Ok(None) => {}
            Err(m) => message.set(Some(m)),
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn scan(
    _: web_sys::HtmlVideoElement,
    _: Uuid,
    _: Callback<String>,
    _: RwSignal<bool>,
    _: RwSignal<Option<String>>,
) {
}
