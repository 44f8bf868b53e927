-- quotes, orders, their lines, every state change, and the stock each unpaid order holds.
create table quotes (
    id uuid primary key,
    customer_id uuid not null references users (id) on delete cascade,
    store_id uuid not null references stores (id) on delete cascade,
    fulfilment text not null check (fulfilment in ('delivery', 'pickup')),
    address_id uuid references addresses (id) on delete set null,
    scheduled_for timestamptz,
    -- [{product_id, name, unit, unit_price_fen, quantity}] at the prices quoted
    lines jsonb not null,
    items_fen bigint not null,
    packaging_fen bigint not null,
    delivery_fee_fen bigint not null,
    surcharge_fen bigint not null,
    discount_fen bigint not null,
    tip_fen bigint not null,
    total_fen bigint not null check (total_fen >= 0),
    distance_m integer,
    eta_min integer not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
);
create index quotes_expires_at on quotes (expires_at);

create sequence order_number_seq;

create table orders (
    id uuid primary key,
    number text not null unique,
    customer_id uuid not null references users (id),
    store_id uuid not null references stores (id),
    channel text not null default 'web',
    status text not null check (status in (
        'pending_payment', 'placed', 'accepted', 'picking', 'ready', 'picked_up', 'delivering',
        'delivered', 'collected', 'cancelled', 'rejected', 'refunded', 'delivery_failed')),
    fulfilment text not null check (fulfilment in ('delivery', 'pickup')),
    contact_name text not null,
    contact_phone text not null,
    address_detail text,
    dest_lat double precision,
    dest_lng double precision,
    notes text not null default '',
    scheduled_for timestamptz,
    -- when the store and dispatch should start on it (payment time, or before the slot)
    release_at timestamptz,
    items_fen bigint not null,
    packaging_fen bigint not null,
    delivery_fee_fen bigint not null,
    surcharge_fen bigint not null,
    discount_fen bigint not null,
    tip_fen bigint not null,
    total_fen bigint not null check (total_fen >= 0),
    distance_m integer,
    eta_min integer not null,
    pickup_code text,
    tracking_token text not null unique,
    quote_id uuid unique references quotes (id) on delete set null,
    payment_expires_at timestamptz not null,
    paid_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((fulfilment = 'delivery') = (dest_lat is not null and dest_lng is not null and address_detail is not null))
);
create index orders_customer_id on orders (customer_id, created_at desc);
create index orders_store_id on orders (store_id, status);
create index orders_unpaid on orders (payment_expires_at) where status = 'pending_payment';
create index orders_slot on orders (store_id, scheduled_for) where scheduled_for is not null;

create table order_items (
    order_id uuid not null references orders (id) on delete cascade,
    product_id uuid not null references products (id),
    name text not null,
    unit text not null,
    unit_price_fen bigint not null check (unit_price_fen > 0),
    quantity integer not null check (quantity > 0),
    primary key (order_id, product_id)
);

create table order_events (
    id bigserial primary key,
    order_id uuid not null references orders (id) on delete cascade,
    from_status text,
    to_status text not null,
    actor_kind text not null check (actor_kind in ('customer', 'merchant', 'courier', 'ops', 'system', 'provider', 'channel')),
    actor_id uuid,
    reason text not null default '',
    at timestamptz not null default now()
);
create index order_events_order_id on order_events (order_id, id);

-- every new event wakes the live feed (any server instance): payload "order_id:event_id"
create function notify_order_event() returns trigger language plpgsql as $$
begin
    perform pg_notify('songda_order_events', new.order_id::text || ':' || new.id::text);
    return new;
end $$;
create trigger order_events_notify after insert on order_events
    for each row execute function notify_order_event();

-- stock an order holds: 'held' while unpaid (counted in stock_levels.reserved), 'committed'
-- once paid (taken off on_hand), 'released' when the order expired or was cancelled unpaid.
create table reservations (
    order_id uuid not null references orders (id) on delete cascade,
    store_id uuid not null references stores (id),
    product_id uuid not null references products (id),
    quantity integer not null check (quantity > 0),
    state text not null default 'held' check (state in ('held', 'committed', 'released', 'restocked')),
    expires_at timestamptz not null,
    updated_at timestamptz not null default now(),
    primary key (order_id, product_id)
);

create table cancel_requests (
    id uuid primary key,
    order_id uuid not null references orders (id) on delete cascade,
    reason text not null,
    status text not null default 'open' check (status in ('open', 'approved', 'declined')),
    decided_by uuid references users (id),
    decision_reason text,
    created_at timestamptz not null default now(),
    decided_at timestamptz
);
create unique index cancel_requests_one_open on cancel_requests (order_id) where status = 'open';
