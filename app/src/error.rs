//! One error type for the whole app: a status code and a message that is safe to show.
//! Internal causes are logged on the server with the request id and never serialized.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    #[error("Please log in to continue.")]
    Unauthorized,
    #[error("Your account does not have access to this page.")]
    Forbidden,
    #[error("Not found.")]
    NotFound,
    /// Bad input: `field` names the form field the message belongs next to.
    #[error("{message}")]
    Validation { field: String, message: String },
    /// One message for an unknown account and a wrong password, so neither leaks.
    #[error("The phone/email or password is not correct.")]
    BadCredentials,
    #[error("Too many attempts. Please wait {retry_after_secs} seconds and try again.")]
    TooManyRequests { retry_after_secs: u64 },
    #[error(
        "Something went wrong on our side. Please try again; if it keeps happening, quote request {request_id}."
    )]
    Internal { request_id: String },
    /// The request was fine but the world changed under it (a stale quote, an order that moved
    /// on): the message says what to do next.
    #[error("{message}")]
    Conflict { message: String },
    /// The request itself was malformed, or (in the browser) the server could not be reached.
    #[error("{message}")]
    Request { message: String },
}

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub fn request(message: impl Into<String>) -> Self {
        AppError::Request {
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict {
            message: message.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized | AppError::BadCredentials => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::Conflict { .. } => 409,
            AppError::Validation { .. } => 422,
            AppError::TooManyRequests { .. } => 429,
            AppError::Internal { .. } => 500,
            AppError::Request { .. } => 400,
        }
    }

    /// The message for a form field, when this error belongs next to that field.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Validation { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }

    /// Logs the cause with the current request id and returns the public error.
    #[cfg(feature = "ssr")]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let request_id = crate::context::request_id().unwrap_or_else(|| "-".to_string());
        tracing::error!(%request_id, "internal error: {cause}");
        AppError::Internal { request_id }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) => {
                AppError::request("Could not reach Songda. Check your connection and try again.")
            }
            ServerFnErrorErr::Args(e) | ServerFnErrorErr::MissingArg(e) => {
                AppError::request(format!("The request was not understood: {e}"))
            }
            // On the server this means the request's arguments did not decode (e.g. a bad id).
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(e) => {
                AppError::request(format!("The request was not understood: {e}"))
            }
            #[cfg(feature = "ssr")]
            other => AppError::internal(other),
            #[cfg(not(feature = "ssr"))]
            other => AppError::request(format!("Unexpected answer from the server: {other}")),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_error_serializes_only_the_request_id() {
        let e = AppError::Internal {
            request_id: "abc".into(),
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"kind":"internal","request_id":"abc"}"#);
        assert_eq!(e.status(), 500);
    }

    #[test]
    fn every_kind_serializes_and_round_trips() {
        let all = [
            AppError::Unauthorized,
            AppError::Forbidden,
            AppError::NotFound,
            AppError::validation("f", "m"),
            AppError::BadCredentials,
            AppError::TooManyRequests {
                retry_after_secs: 3,
            },
            AppError::Internal {
                request_id: "r".into(),
            },
            AppError::request("bad"),
            AppError::conflict("moved on"),
        ];
        for e in all {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(
                serde_json::from_str::<AppError>(&json).unwrap(),
                e,
                "{json}"
            );
        }
    }

    #[test]
    fn validation_belongs_to_its_field() {
        let e = AppError::validation("password", "too short");
        assert_eq!(e.for_field("password").as_deref(), Some("too short"));
        assert_eq!(e.for_field("login"), None);
        assert_eq!(e.status(), 422);
    }
}
