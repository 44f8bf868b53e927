-- the payment provider boundary: our payments, every notification as received, refunds,
-- and the built-in sandbox provider's own ledger (what a real provider keeps on its side).
create table payments (
    id uuid primary key,
    order_id uuid not null references orders (id) on delete cascade,
    provider text not null,
    amount_fen bigint not null check (amount_fen >= 0),
    status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
    provider_ref text,
    failure_reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index payments_order_id on payments (order_id, created_at);

create table payment_notifications (
    id bigserial primary key,
    provider text not null,
    payment_id uuid references payments (id) on delete set null,
    received_at timestamptz not null default now(),
    signature text,
    body text not null,
    outcome text not null
);

create table refunds (
    id uuid primary key,
    payment_id uuid not null references payments (id),
    order_id uuid not null references orders (id) on delete cascade,
    amount_fen bigint not null check (amount_fen > 0),
    reason text not null,
    status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
    provider_ref text,
    attempts integer not null default 0,
    last_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index refunds_pending on refunds (created_at) where status = 'pending';

create table sandbox_payments (
    id uuid primary key,
    merchant_ref uuid not null unique,
    amount_fen bigint not null,
    notify_url text not null,
    status text not null default 'open' check (status in ('open', 'succeeded', 'failed')),
    refunded_fen bigint not null default 0 check (refunded_fen >= 0 and refunded_fen <= amount_fen),
    created_at timestamptz not null default now(),
    decided_at timestamptz
);

-- one row per refund request, so a repeated request (a retry after a crash) refunds once
create table sandbox_refunds (
    id uuid primary key,
    sandbox_payment_id uuid not null references sandbox_payments (id),
    amount_fen bigint not null check (amount_fen > 0),
    created_at timestamptz not null default now()
);
