//! Merchant console routes that are not server fns: product image upload (raw bytes), the
//! images themselves, and the catalog CSV download. Each authorizes from the session cookie
//! first, like the live feed: a merchant who belongs to the store (others get 404).

use app::accounts::model::Role;
use app::catalog::media::{self, UploadRefusal};
use app::error::AppError;
use app::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::http::{body_up_to, error, error_with, session_user};

/// The caller, if a merchant: 401 without a session, 403 for other roles.
async fn merchant(state: &AppState, headers: &HeaderMap) -> Result<Uuid, Response> {
    let user = session_user(state, headers).await?;
    if user.role != Role::Merchant {
        return Err(error(&AppError::Forbidden));
    }
    Ok(user.id)
}

/// The merchant belongs to `store_id`; merchants of other stores (or no store) get 404.
async fn member_of(
    state: &AppState,
    user_id: Uuid,
    store_id: Option<Uuid>,
) -> Result<Uuid, Response> {
    let store_id = store_id.ok_or_else(|| error(&AppError::NotFound))?;
    match app::accounts::db::store_member_role(&state.pool, store_id, user_id).await {
        Ok(Some(_)) => Ok(store_id),
        Ok(None) => Err(error(&AppError::NotFound)),
        Err(e) => Err(error(&AppError::internal(e))),
    }
}

/// `POST /api/merchant/products/{id}/image`: the image file as the raw body.
pub async fn upload_image(
    State(state): State<AppState>,
    Path(product_id): Path<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let user_id = match merchant(&state, &headers).await {
        Ok(id) => id,
        Err(res) => return res,
    };
    let store = match app::catalog::admin::store_of_product(&state.pool, product_id).await {
        Ok(s) => s,
        Err(e) => return error(&AppError::internal(e)),
    };
    let store_id = match member_of(&state, user_id, store).await {
        Ok(id) => id,
        Err(res) => return res,
    };
    let too_large = || {
        error_with(
            &AppError::request("The image is larger than 2 MiB: make it smaller and upload again."),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    };
    let Some(bytes) = body_up_to(&headers, body, media::MAX_IMAGE_BYTES).await else {
        return too_large();
    };
    let (file, _) = match media::image_file_name(&bytes) {
        Ok(named) => named,
        Err(UploadRefusal::TooLarge) => return too_large(),
        Err(UploadRefusal::NotAnImage) => {
            return error_with(
                &AppError::request("Upload a PNG, JPEG or WebP image."),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            );
        }
    };
    if let Err(e) = media::store(&state.settings.uploads_dir, &file, &bytes).await {
        return error(&e);
    }
    match app::catalog::admin::set_image(&state.pool, store_id, product_id, &file).await {
        Ok(product) => axum::Json(product).into_response(),
        Err(e) => error(&e),
    }
}

/// `GET /media/{file}`: an uploaded image. Names are content hashes, so they never change.
pub async fn media_file(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    // Public: product images show on the customer menu.
    let Some(kind) = media::parse_media_name(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::fs::read(state.settings.uploads_dir.join(&name)).await {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(kind.content_type()),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /merchant/stores/{id}/export.csv`: products and stock, ready to edit and import.
pub async fn export_csv(
    State(state): State<AppState>,
    Path(store_id): Path<Uuid>,
    headers: HeaderMap,
) -> Response {
    let user_id = match merchant(&state, &headers).await {
        Ok(id) => id,
        Err(res) => return res,
    };
    if let Err(res) = member_of(&state, user_id, Some(store_id)).await {
        return res;
    }
    match app::catalog::admin::export_csv(&state.pool, store_id).await {
        // The byte-order mark makes spreadsheet programs read the file as UTF-8 (Chinese names).
        Ok(text) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"catalog-{store_id}.csv\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            format!("\u{feff}{text}"),
        )
            .into_response(),
        Err(e) => error(&e),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct OrderQuery {
    status: String,
    from: String,
    to: String,
    number: String,
    phone: String,
}

/// `GET /merchant/stores/{id}/orders.csv`: the store's orders with the order list's filters.
pub async fn orders_csv(
    State(state): State<AppState>,
    Path(store_id): Path<Uuid>,
    axum::extract::Query(q): axum::extract::Query<OrderQuery>,
    headers: HeaderMap,
) -> Response {
    let user_id = match merchant(&state, &headers).await {
        Ok(id) => id,
        Err(res) => return res,
    };
    if let Err(res) = member_of(&state, user_id, Some(store_id)).await {
        return res;
    }
    let filter = match app::orders::board::OrderFilter::parse(
        &q.status, &q.from, &q.to, &q.number, &q.phone,
    ) {
        Ok(f) => f,
        Err(e) => return error(&e),
    };
    match app::orders::merchant::orders_csv(&state.pool, store_id, &filter).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"orders.csv\"",
                ),
                (header::CACHE_CONTROL, "no-store"),
            ],
            csv,
        )
            .into_response(),
        Err(e) => error(&e),
    }
}
