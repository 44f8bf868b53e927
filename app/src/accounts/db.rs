//! SQL for accounts and sessions. No business rules here.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

pub struct UserRow {
    pub id: Uuid,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
}

pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
}

/// Returns false when the email or phone is already taken (nothing is written then).
pub async fn insert_user(db: impl PgExecutor<'_>, u: &NewUser<'_>) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        "insert into users (id, email, phone, display_name, password_hash, role)
         values ($1, $2, $3, $4, $5, $6)
         on conflict do nothing
         returning id",
        u.id,
        u.email,
        u.phone,
        u.display_name,
        u.password_hash,
        u.role,
    )
    .fetch_optional(db)
    .await?;
    Ok(inserted.is_some())
}

pub async fn user_by_email(pool: &PgPool, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "select id, display_name, password_hash, role from users where email = $1",
        email
    )
    .fetch_optional(pool)
    .await
}

pub async fn user_by_phone(pool: &PgPool, phone: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "select id, display_name, password_hash, role from users where phone = $1",
        phone
    )
    .fetch_optional(pool)
    .await
}

pub async fn insert_session(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    user_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into sessions (token_hash, user_id, expires_at) values ($1, $2, $3)",
        token_hash,
        user_id,
        expires_at
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete_session(db: impl PgExecutor<'_>, token_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from sessions where token_hash = $1", token_hash)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn user_by_session(
    pool: &PgPool,
    token_hash: &[u8],
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "select u.id, u.display_name, u.password_hash, u.role
         from sessions s join users u on u.id = s.user_id
         where s.token_hash = $1 and s.expires_at > now()",
        token_hash
    )
    .fetch_optional(pool)
    .await
}

pub async fn delete_expired_sessions(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!("delete from sessions where expires_at <= now()")
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub async fn store_member_role(
    pool: &PgPool,
    store_id: Uuid,
    user_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select role from store_members where store_id = $1 and user_id = $2",
        store_id,
        user_id
    )
    .fetch_optional(pool)
    .await
}
