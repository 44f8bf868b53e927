-- accounts: users with one role each, server-side sessions.
create table users (
    id uuid primary key,
    email text unique check (email = lower(email)),
    phone text unique,
    display_name text not null,
    password_hash text not null,
    role text not null check (role in ('customer', 'merchant', 'courier', 'ops')),
    created_at timestamptz not null default now(),
    check (email is not null or phone is not null)
);

-- only a hash of the session token is stored: a leaked table does not log anyone in.
create table sessions (
    token_hash bytea primary key,
    user_id uuid not null references users (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
);
create index sessions_user_id on sessions (user_id);
create index sessions_expires_at on sessions (expires_at);
