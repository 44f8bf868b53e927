-- first results of external writes, and side effects waiting to leave the database.
create table idempotency_keys (
    scope text not null,
    owner_id uuid not null,
    key text not null check (length(key) between 8 and 100),
    request_hash bytea not null,
    order_id uuid references orders (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (scope, owner_id, key)
);

create table outbox (
    id bigserial primary key,
    topic text not null,
    payload jsonb not null,
    created_at timestamptz not null default now(),
    available_at timestamptz not null default now(),
    attempts integer not null default 0,
    delivered_at timestamptz,
    last_error text
);
create index outbox_pending on outbox (available_at) where delivered_at is null;
