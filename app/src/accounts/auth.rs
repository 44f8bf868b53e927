//! The one place that decides who is calling: every server fn starts with one of these.

use uuid::Uuid;

use super::model::Role;
use super::service::{self, User};
use crate::context;
use crate::error::AppError;

/// A store member's standing in that store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberRole {
    Owner,
    Staff,
}

pub fn session_cookie_name() -> &'static str {
    let secure =
        leptos::prelude::use_context::<crate::state::AppState>().is_some_and(|s| s.settings.secure);
    session_cookie_for(secure)
}

/// The session cookie's name: `__Host-` prefixed (Secure, no Domain) when served over https.
pub fn session_cookie_for(secure: bool) -> &'static str {
    if secure {
        "__Host-songda_session"
    } else {
        "songda_session"
    }
}

fn session_token() -> Option<String> {
    context::cookie(session_cookie_name()).filter(|t| !t.is_empty())
}

/// The caller, if a valid session cookie came with the request.
pub async fn current_user() -> Result<Option<User>, AppError> {
    let Some(token) = session_token() else {
        return Ok(None);
    };
    let state = context::state()?;
    service::user_for_token(&state.pool, &token).await
}

pub async fn require_user() -> Result<User, AppError> {
    current_user().await?.ok_or(AppError::Unauthorized)
}

pub async fn require_role(role: Role) -> Result<User, AppError> {
    let user = require_user().await?;
    if user.role != role {
        return Err(AppError::Forbidden);
    }
    Ok(user)
}

/// A merchant who belongs to this store. Another store's staff get 404, not a hint.
pub async fn require_store_member(store_id: Uuid) -> Result<(User, MemberRole), AppError> {
    let user = require_role(Role::Merchant).await?;
    let state = context::state()?;
    let role = super::db::store_member_role(&state.pool, store_id, user.id).await?;
    match role.as_deref() {
        Some("owner") => Ok((user, MemberRole::Owner)),
        Some("staff") => Ok((user, MemberRole::Staff)),
        _ => Err(AppError::NotFound),
    }
}

/// Public endpoints that guess-able secrets pass through (log in, sign up): anyone may call,
/// but each address gets a limited number of attempts.
pub fn throttle_anonymous() -> Result<(), AppError> {
    let state = context::state()?;
    state.auth_limiter.check(context::client_ip()?)
}

/// Logs `user` in on this response: a new session, and the previous one (if any) ended.
pub async fn begin_session(user: &User) -> Result<(), AppError> {
    let state = context::state()?;
    if let Some(old) = session_token() {
        service::end_session(&state.pool, &old).await?;
    }
    let token = service::start_session(&state.pool, user.id, state.settings.session_ttl).await?;
    set_session_cookie(
        &token.0,
        state.settings.session_ttl.as_secs(),
        state.settings.secure,
    )
}

/// HttpOnly (no script reads it), SameSite=Lax (no cross-site POST carries it), Secure and
/// `__Host-` on https.
fn set_session_cookie(value: &str, max_age_secs: u64, secure: bool) -> Result<(), AppError> {
    let secure = if secure { "; Secure" } else { "" };
    context::set_cookie(&format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}",
        session_cookie_name()
    ))
}

pub async fn end_session() -> Result<(), AppError> {
    let state = context::state()?;
    if let Some(token) = session_token() {
        service::end_session(&state.pool, &token).await?;
    }
    set_session_cookie("", 0, state.settings.secure)
}
