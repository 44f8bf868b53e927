//! Log in, sign up, and the account menu in the header.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::{Login, Logout, Signup, demo_accounts, me};
use super::model::{Password, PublicUser};
use crate::error::AppError;

/// After a successful log-in/out the whole page reloads, so every part sees the new user.
fn go_to(target: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(target);
    }
}

/// A labelled input with the message for it from the form's last answer underneath.
#[component]
fn Field(
    #[prop(into)] label: String,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    autocomplete: &'static str,
    /// `data-test` stem: `{test}-input` and `{test}-error`.
    test: &'static str,
    #[prop(default = true)] required: bool,
    #[prop(into)] answer: Signal<Option<Result<String, AppError>>>,
) -> impl IntoView {
    let error = move || match answer.get() {
        Some(Err(e)) => e.for_field(name),
        _ => None,
    };
    view! {
        <label>
            {label}
            <input name=name type=kind autocomplete=autocomplete required=required data-test=format!("{test}-input")/>
        </label>
        <p class="field-error" data-test=format!("{test}-error")>{error}</p>
    }
}

/// An error that belongs to no single field (wrong password, too many attempts, server down).
fn form_error(value: Option<Result<String, AppError>>) -> Option<String> {
    match value {
        Some(Err(AppError::Validation { .. })) | Some(Ok(_)) | None => None,
        Some(Err(e)) => Some(e.to_string()),
    }
}

fn next_param() -> Signal<Option<String>> {
    let query = use_query_map();
    Signal::derive(move || query.read().get("next"))
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let next = next_param();
    let value = action.value();
    Effect::new(move |_| {
        if let Some(Ok(target)) = value.get() {
            go_to(&target);
        }
    });
    let demo = Resource::new(|| (), |_| demo_accounts());
    let signup_href = move || match next.get() {
        Some(n) => format!("/signup?next={}", crate::ui::encode_query_value(&n)),
        None => "/signup".to_string(),
    };

    view! {
        <section class="card auth" data-test="login-page">
            <h1>"Log in 登录"</h1>
            <ActionForm action=action attr:data-test="login-form">
                <input type="hidden" name="next" value=move || next.get().unwrap_or_default()/>
                <Field label="Mobile number or email 手机号或邮箱" name="login" autocomplete="username" test="login" answer=value/>
                <Field label="Password 密码" name="password" kind="password" autocomplete="current-password" test="password" answer=value/>
                <p class="form-error" role="alert" data-test="form-error">{move || form_error(value.get())}</p>
                <button type="submit" class="primary" disabled=move || action.pending().get() data-test="login-submit">
                    {move || if action.pending().get() { "Logging in…" } else { "Log in" }}
                </button>
            </ActionForm>
            <p>"New here? " <a href=signup_href>"Create an account 注册"</a></p>
        </section>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let accounts = demo.await.unwrap_or_default();
                (!accounts.is_empty()).then(|| view! {
                    <section class="card demo" data-test="demo-accounts">
                        <h2>"Try the demo 演示账号"</h2>
                        <p>"Every demo account uses the password " <code>{accounts[0].password.clone()}</code> "."</p>
                        <ul class="demo-list">
                            {accounts.into_iter().map(|a| {
                                let role = a.role;
                                let login = a.login.clone();
                                let password = a.password.clone();
                                view! {
                                    <li>
                                        <button
                                            type="button"
                                            data-test=format!("demo-login-{}", role.as_str())
                                            disabled=move || action.pending().get()
                                            on:click=move |_| {
                                                action.dispatch(Login {
                                                    login: login.clone(),
                                                    password: password.clone(),
                                                    next: next.get_untracked(),
                                                });
                                            }
                                        >
                                            {format!("Log in as {}", role.label())}
                                        </button>
                                        <span class="muted">{a.login}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                })
            })}
        </Suspense>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let action = ServerAction::<Signup>::new();
    let next = next_param();
    let value = action.value();
    Effect::new(move |_| {
        if let Some(Ok(target)) = value.get() {
            go_to(&target);
        }
    });
    view! {
        <section class="card auth" data-test="signup-page">
            <h1>"Create an account 注册"</h1>
            <ActionForm action=action attr:data-test="signup-form">
                <input type="hidden" name="next" value=move || next.get().unwrap_or_default()/>
                <Field label="Mobile number or email 手机号或邮箱" name="login" autocomplete="username" test="login" answer=value/>
                <Field label="Your name (optional) 称呼" name="display_name" autocomplete="name" test="name" required=false answer=value/>
                <Field label=format!("Password, at least {} characters 密码", Password::MIN_CHARS) name="password" kind="password" autocomplete="new-password" test="password" answer=value/>
                <p class="form-error" role="alert" data-test="form-error">{move || form_error(value.get())}</p>
                <button type="submit" class="primary" disabled=move || action.pending().get() data-test="signup-submit">
                    {move || if action.pending().get() { "Creating your account…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p>"Already have an account? " <a href="/login">"Log in"</a></p>
        </section>
    }
}

/// The header's account area: who is logged in, their home, log out.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let user = Resource::new(|| (), |_| me());
    let logout = ServerAction::<Logout>::new();
    let done = logout.value();
    Effect::new(move |_| {
        if let Some(Ok(())) = done.get() {
            go_to("/");
        }
    });
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(u)) => signed_in(u, logout).into_any(),
                    _ => view! { <a class="button" href="/login" data-test="nav-login">"Log in"</a> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn signed_in(u: PublicUser, logout: ServerAction<Logout>) -> impl IntoView {
    view! {
        <a href=u.role.home() data-test="nav-home">{u.role.label()}</a>
        {(u.role == super::model::Role::Customer).then(|| view! { <a href="/cart" data-test="nav-cart">"Cart 购物车"</a> <a href="/orders" data-test="nav-orders">"Orders 订单"</a> <a href="/addresses" data-test="nav-addresses">"Addresses 地址"</a> })}
        <span class="who" data-test="who">{u.display_name}</span>
        <ActionForm action=logout>
            <button type="submit" data-test="logout" disabled=move || logout.pending().get()>"Log out"</button>
        </ActionForm>
    }
}
