//! Account rules: sign-up, log-in, sessions. Password hashing runs off the async threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::db;
use super::model::{LoginId, Password, PublicUser, Role};
use crate::error::AppError;

/// A logged-in user as the server knows it.
#[derive(Clone, Debug)]
pub struct User {
    pub id: Uuid,
    pub role: Role,
    pub display_name: String,
}

impl User {
    pub fn public(&self) -> PublicUser {
        PublicUser {
            id: self.id,
            display_name: self.display_name.clone(),
            role: self.role,
        }
    }
}

impl TryFrom<db::UserRow> for User {
    type Error = AppError;

    fn try_from(row: db::UserRow) -> Result<Self, AppError> {
        let role = Role::parse(&row.role)
            .ok_or_else(|| AppError::internal(format!("unknown role {:?}", row.role)))?;
        Ok(User {
            id: row.id,
            role,
            display_name: row.display_name,
        })
    }
}

/// A new session token: 256 bits from the OS, sent to the browser once; only its hash is stored.
pub struct SessionToken(pub String);

impl SessionToken {
    fn generate() -> Result<SessionToken, AppError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(AppError::internal)?;
        Ok(SessionToken(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub async fn hash_password(password: &Password) -> Result<String, AppError> {
    let password = password.expose().to_string();
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(AppError::internal)?;
        let salt = SaltString::encode_b64(&salt).map_err(AppError::internal)?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)?
}

async fn verify_password(password: &str, hash: String) -> Result<bool, AppError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(AppError::internal)?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(AppError::internal)?
}

/// A valid argon2id hash of a random password: unknown accounts are checked against it so
/// they take as long as known ones and timing tells nothing.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29uZ2RhLWRlY295LXNhbHQ$0bK9Kkq1oJ1V0a0mX1h4o3yYV0pW8dJg2n3o9QmCq0Y";

pub async fn sign_up(
    pool: &PgPool,
    login: &LoginId,
    password: &Password,
    display_name: &str,
) -> Result<User, AppError> {
    let hash = hash_password(password).await?;
    let (email, phone) = match login {
        LoginId::Email(e) => (Some(e.as_str()), None),
        LoginId::Phone(p) => (None, Some(p.as_str())),
    };
    let id = Uuid::now_v7();
    let created = db::insert_user(
        pool,
        &db::NewUser {
            id,
            email,
            phone,
            display_name,
            password_hash: &hash,
            role: Role::Customer.as_str(),
        },
    )
    .await?;
    if !created {
        return Err(AppError::validation(
            LoginId::FIELD,
            "An account with this phone/email already exists. Log in instead.",
        ));
    }
    Ok(User {
        id,
        role: Role::Customer,
        display_name: display_name.to_string(),
    })
}

pub async fn log_in(pool: &PgPool, login: &LoginId, password: &str) -> Result<User, AppError> {
    let row = match login {
        LoginId::Email(e) => db::user_by_email(pool, e).await?,
        LoginId::Phone(p) => db::user_by_phone(pool, p).await?,
    };
    let Some(row) = row else {
        let _ = verify_password(password, DECOY_HASH.to_string()).await;
        return Err(AppError::BadCredentials);
    };
    if !verify_password(password, row.password_hash.clone()).await? {
        return Err(AppError::BadCredentials);
    }
    User::try_from(row)
}

/// Starts a new session (a fresh token every time: the id rotates at each login).
pub async fn start_session(
    pool: &PgPool,
    user_id: Uuid,
    ttl: std::time::Duration,
) -> Result<SessionToken, AppError> {
    let token = SessionToken::generate()?;
    let ttl = chrono::Duration::from_std(ttl).map_err(AppError::internal)?;
    db::insert_session(
        pool,
        &token_hash(&token.0),
        user_id,
        chrono::Utc::now() + ttl,
    )
    .await?;
    Ok(token)
}

pub async fn end_session(pool: &PgPool, token: &str) -> Result<(), AppError> {
    db::delete_session(pool, &token_hash(token)).await?;
    Ok(())
}

pub async fn user_for_token(pool: &PgPool, token: &str) -> Result<Option<User>, AppError> {
    match db::user_by_session(pool, &token_hash(token)).await? {
        Some(row) => Ok(Some(User::try_from(row)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoy_hash_is_a_valid_argon2id_hash() {
        let parsed = PasswordHash::new(DECOY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
    }

    #[test]
    fn tokens_carry_256_bits_and_differ() {
        let a = SessionToken::generate().unwrap().0;
        let b = SessionToken::generate().unwrap().0;
        assert_eq!(a.len(), 43); // 32 bytes in unpadded base64url
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 32);
    }
}
