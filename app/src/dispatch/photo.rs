//! The courier's photo at the door: taken with the phone's camera (`capture`), shrunk in the
//! browser to at most 1280 px as JPEG (a phone photo is several MiB; the server takes 1 MiB),
//! and sent to `/api/courier/orders/{id}/photo`. Needs the network: without it the courier is
//! told to send it again when it is back (the PIN alone already proves the delivery).

use leptos::prelude::*;
use uuid::Uuid;

/// Longest side of the photo as sent.
#[cfg(feature = "hydrate")]
const MAX_SIDE: f64 = 1280.0;

#[component]
pub fn DoorPhoto(order_id: Uuid) -> impl IntoView {
    let status = RwSignal::new(None::<String>);
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
        status.set(Some("Sending the photo…".into()));
        leptos::task::spawn_local(async move {
            let answer = send_photo(order_id, file).await;
            busy.set(false);
            status.set(Some(match answer {
                Ok(()) => "Photo saved 照片已保存".to_string(),
                Err(message) => message,
            }));
        });
    };
    view! {
        <div class="door-photo" data-test="door-photo">
            <label>"Photo at the door (optional) 送达照片 "
                <input type="file" accept="image/*" capture="environment" node_ref=input
                    data-test="photo-file" on:change=send disabled=move || busy.get()/>
            </label>
            <p role="status" class="muted" data-test="photo-status">{move || status.get()}</p>
        </div>
    }
}

#[cfg(feature = "hydrate")]
async fn send_photo(order_id: Uuid, file: web_sys::File) -> Result<(), String> {
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
    let bytes = window.atob(encoded).map_err(failed)?;
    let body = js_sys::Uint8Array::from(
        bytes
            .chars()
            .map(|c| c as u8)
            .collect::<Vec<u8>>()
            .as_slice(),
    );
    let status =
        crate::ui::post_body(&format!("/api/courier/orders/{order_id}/photo"), &body).await?;
    match status {
        200..=299 => Ok(()),
        413 => Err("The photo is too large even after shrinking: take it again.".into()),
        409 => Err("A photo is taken at the door, after 'On my way'.".into()),
        401 => Err("Your session ended: log in again.".into()),
        _ => Err("The photo was not saved. Try again.".into()),
    }
}

#[cfg(not(feature = "hydrate"))]
async fn send_photo(_: Uuid, _: web_sys::File) -> Result<(), String> {
    Err("Photos are sent from the browser.".into())
}
