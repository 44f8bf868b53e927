//! What every API test needs: the real router on a random port over a fresh database
//! (sqlx::test creates it on the server in DATABASE_URL and applies the migrations), and a
//! browser-like HTTP client with explicit cookies.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these helpers"
)]

pub mod shop;

use std::net::SocketAddr;

use app::state::{AppState, Settings};
use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

pub struct TestApp {
    pub base: String,
    /// The server's own state: tests run its workers (expiry, outbox) on demand.
    pub state: AppState,
}

pub async fn spawn_with(pool: PgPool, settings: Settings) -> TestApp {
    // Server logs go to the test's captured output (shown for failing tests).
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    server::seed::seed_demo_city(&pool).await.expect("seed");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = server::leptos_options(addr).unwrap();
    let state = AppState::new(options, pool, settings);
    let app = server::build_app(state.clone(), 64 * 1024);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    TestApp {
        base: format!("http://{addr}"),
        state,
    }
}

pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_with(pool, Settings::default()).await
}

/// A browser-like client without automatic cookies: tests pass cookies explicitly.
pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    pub async fn post(&self, path: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Response {
        let mut req = client().post(format!("{}{path}", self.base)).form(form);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap()
    }

    /// A server fn that takes JSON (`input = Json`).
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        cookie: Option<&str>,
    ) -> Response {
        let mut req = client().post(format!("{}{path}", self.base)).json(body);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        // Like a browser navigating: leptos answers a redirect with 302 only to HTML requests.
        let mut req = client()
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html,application/xhtml+xml");
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap()
    }

    /// Logs in and returns the `name=value` cookie pair.
    pub async fn login(&self, login: &str, password: &str) -> String {
        let res = self
            .post(
                "/api/login",
                &[("login", login), ("password", password)],
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "login {login}");
        session_cookie(res.headers()).expect("session cookie")
    }

    pub async fn login_as(&self, role: &str) -> String {
        self.login(&format!("{role}@songda.test"), app::demo::PASSWORD)
            .await
    }

    pub async fn me(&self, cookie: Option<&str>) -> Value {
        let res = self.post("/api/me", &[], cookie).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }
}

pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(SET_COOKIE)?.to_str().ok()?;
    Some(raw.split(';').next()?.to_string())
}

pub async fn json(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub async fn store_id(pool: &PgPool, slug: &str) -> String {
    sqlx::query_scalar("select id::text from stores where slug = $1")
        .bind(slug)
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn product_of(pool: &PgPool, store_slug: &str, name_like: &str) -> String {
    sqlx::query_scalar(
        "select p.id::text from products p join stores s on s.id = p.store_id
         where s.slug = $1 and p.name ilike $2 order by p.name limit 1",
    )
    .bind(store_slug)
    .bind(format!("%{name_like}%"))
    .fetch_one(pool)
    .await
    .unwrap()
}
