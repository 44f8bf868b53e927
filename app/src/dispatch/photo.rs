//! The courier's photo at the door: taken with the phone's camera (`capture`), shrunk in the
//! browser to at most 1280 px as JPEG (a phone photo is several MiB; the server takes 1 MiB),
//! kept on the phone by the outbox and sent to `/api/courier/orders/{id}/photo`. Without
//! network the photo waits on the phone with the courier's other actions and goes out when
//! the network is back (the server takes it up to a day after the delivery).

use leptos::prelude::*;
use uuid::Uuid;

use super::outbox::Outbox;

/// Longest side of the photo as sent.
#[cfg(feature = "hydrate")]
const MAX_SIDE: f64 = 1280.0;

#[component]
pub fn DoorPhoto(order_id: Uuid, outbox: Outbox) -> impl IntoView {
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let input = NodeRef::<leptos::html::Input>::new();
    let send = move |_| {
        let Some(file) = input
            .get()
            .and_then(|i| i.files())
            .and_then(|files| files.get(0))
        else {
            return;
        };
        busy.set(true);
        problem.set(None);
        leptos::task::spawn_local(async move {
            let kept = match shrink(file).await {
                Ok(jpeg) => outbox.push_photo(order_id, jpeg),
                Err(message) => Err(message),
            };
            busy.set(false);
            problem.set(kept.err());
        });
    };
    let status = move || {
        if busy.get() {
            return Some("Preparing the photo…".to_string());
        }
        if let Some(message) = problem.get() {
            return Some(message);
        }
        if outbox.photo_waiting(order_id) {
            return Some(if outbox.offline.get() {
                "No network: the photo is kept on this phone and sent when it is back 照片待发送"
                    .into()
            } else {
                "Sending the photo…".into()
            });
        }
        outbox
            .photo_sent(order_id)
            .then(|| "Photo saved 照片已保存".to_string())
    };
    view! {
        <div class="door-photo" data-test="door-photo">
            <label>"Photo at the door (optional) 送达照片 "
                <input type="file" accept="image/*" capture="environment" node_ref=input
                    data-test="photo-file" on:change=send disabled=move || busy.get()/>
            </label>
            <p role="status" class="muted" data-test="photo-status">{status}</p>
        </div>
    }
}

/// The photo as a JPEG of at most `MAX_SIDE` pixels, base64-encoded (how the phone keeps it).
#[cfg(feature = "hydrate")]
async fn shrink(file: web_sys::File) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    fn failed<E>(_: E) -> String {
        "This photo could not be read: take it again.".to_string()
    }
    let window = web_sys::window().ok_or("No browser window.")?;
    let bitmap: web_sys::ImageBitmap = wasm_bindgen_futures::JsFuture::from(
        window
            .create_image_bitmap_with_blob(&file)
            .map_err(failed)?,
    )
    .await
    .map_err(failed)?
    .dyn_into()
    .map_err(failed)?;
    let (w, h) = (f64::from(bitmap.width()), f64::from(bitmap.height()));
    let scale = (MAX_SIDE / w.max(h)).min(1.0);
    let canvas: web_sys::HtmlCanvasElement = window
        .document()
        .ok_or("No document.")?
        .create_element("canvas")
        .map_err(failed)?
        .dyn_into()
        .map_err(failed)?;
    canvas.set_width((w * scale).round().max(1.0) as u32);
    canvas.set_height((h * scale).round().max(1.0) as u32);
    let ctx: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(failed)?
        .ok_or("No canvas.")?
        .dyn_into()
        .map_err(failed)?;
    ctx.draw_image_with_image_bitmap_and_dw_and_dh(
        &bitmap,
        0.0,
        0.0,
        f64::from(canvas.width()),
        f64::from(canvas.height()),
    )
    .map_err(failed)?;
    let url = canvas
        .to_data_url_with_type_and_encoder_options("image/jpeg", &0.8.into())
        .map_err(failed)?;
    let encoded = url.split_once(',').map(|(_, b)| b).unwrap_or_default();
    if encoded.is_empty() {
        return Err(failed(()));
    }
    Ok(encoded.to_string())
}

#[cfg(not(feature = "hydrate"))]
async fn shrink(_: web_sys::File) -> Result<String, String> {
    Err("Photos are sent from the browser.".into())
}

/// What became of one upload.
pub enum Upload {
    Saved,
    /// No network: keep the photo and try again when it is back.
    NoNetwork,
    /// The server could not take it now: keep it and try again later.
    TryLater,
    /// Refused for good: the photo is dropped and the courier told why.
    Refused(&'static str),
    /// The session ended: keep the photo until the courier logs in again.
    LoggedOut,
}

/// Sends a kept photo (base64 JPEG).
#[cfg(feature = "hydrate")]
pub async fn upload(order_id: Uuid, jpeg: &str) -> Upload {
    let Some(window) = web_sys::window() else {
        return Upload::NoNetwork;
    };
    let Ok(bytes) = window.atob(jpeg) else {
        return Upload::Refused("the kept photo could not be read: take it again");
    };
    let body = js_sys::Uint8Array::from(
        bytes
            .chars()
            .map(|c| c as u8)
            .collect::<Vec<u8>>()
            .as_slice(),
    );
    match crate::ui::post_body(&format!("/api/courier/orders/{order_id}/photo"), &body).await {
        Err(_) => Upload::NoNetwork,
        Ok(200..=299) => Upload::Saved,
        Ok(401) => Upload::LoggedOut,
        Ok(413) => Upload::Refused("too large even after shrinking: take it again"),
        Ok(409) => Upload::Refused("a photo is taken at the door, after 'On my way'"),
        Ok(404) => Upload::Refused("this order is no longer yours"),
        Ok(status) if status >= 500 || status == 429 => Upload::TryLater,
        Ok(_) => Upload::Refused("not saved: take it again"),
    }
}

#[cfg(not(feature = "hydrate"))]
pub async fn upload(_: Uuid, _: &str) -> Upload {
    Upload::NoNetwork
}
