//! Public endpoints for accounts. Each authorizes (or throttles) on its first line.

use leptos::prelude::*;

use super::model::{DemoAccount, PublicUser};
use crate::error::AppError;

#[cfg(feature = "ssr")]
use super::{auth, model::*, service};
#[cfg(feature = "ssr")]
use crate::context;

/// Starts the session and answers with where to go: `next` when it is a local path, else
/// the role's home.
#[cfg(feature = "ssr")]
async fn logged_in(user: &service::User, next: Option<&str>) -> Result<String, AppError> {
    auth::begin_session(user).await?;
    let target = safe_next(next).unwrap_or_else(|| user.role.home().to_string());
    context::redirect_plain_form(&target);
    Ok(target)
}

/// The caller, or `None` when not logged in. Anyone may ask.
#[server(endpoint = "me")]
pub async fn me() -> Result<Option<PublicUser>, AppError> {
    let user = auth::current_user().await?;
    Ok(user.map(|u| u.public()))
}

/// Creates a customer account and logs it in. Returns where to go next.
#[server(endpoint = "signup")]
pub async fn signup(
    login: String,
    password: String,
    display_name: String,
    next: Option<String>,
) -> Result<String, AppError> {
    auth::throttle_anonymous()?;
    let login = LoginId::parse(&login)?;
    let password = Password::parse(&password)?;
    let display_name = parse_display_name(&display_name, &login)?;
    let state = context::state()?;
    let user = service::sign_up(&state.pool, &login, &password, &display_name).await?;
    logged_in(&user, next.as_deref()).await
}

/// Logs in with phone/email and password. Returns where to go next.
#[server(endpoint = "login")]
pub async fn login(
    login: String,
    password: String,
    next: Option<String>,
) -> Result<String, AppError> {
    auth::throttle_anonymous()?;
    let login = LoginId::parse(&login)?;
    if password.is_empty() {
        return Err(AppError::validation(
            Password::FIELD,
            "Enter your password.",
        ));
    }
    let state = context::state()?;
    let user = service::log_in(&state.pool, &login, &password).await?;
    logged_in(&user, next.as_deref()).await
}

/// Ends the caller's session on the server; the old cookie is worthless afterwards.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    auth::require_user().await?;
    auth::end_session().await?;
    context::redirect_plain_form("/");
    Ok(())
}

/// The demo accounts, listed on the login page in demo mode only. Anyone may ask.
#[server(endpoint = "demo_accounts")]
pub async fn demo_accounts() -> Result<Vec<DemoAccount>, AppError> {
    let state = context::state()?;
    if !state.settings.demo_mode {
        return Ok(vec![]);
    }
    Ok(crate::demo::ACCOUNTS
        .iter()
        .map(|(role, login)| DemoAccount {
            role: *role,
            login: login.to_string(),
            password: crate::demo::PASSWORD.to_string(),
        })
        .collect())
}
