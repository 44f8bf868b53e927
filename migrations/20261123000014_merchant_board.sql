-- what the merchant console needs on top of ordering: acceptance with a prep estimate, a
-- hand-over code for the courier, a pick list with tick-off, store warnings, and store-level
-- live pings.

-- orders not accepted this many minutes after they are due (release_at) are rejected by the
-- system and refunded.
alter table stores
    add column accept_timeout_min integer not null default 5 check (accept_timeout_min between 1 and 60);

alter table orders
    add column prep_estimate_min integer check (prep_estimate_min between 1 and 240),
    add column accepted_at timestamptz,
    add column ready_at timestamptz,
    -- shown on the packing label (QR) and checked when a courier takes the order.
    add column handover_code text;
create index orders_due on orders (release_at) where status = 'placed';
create index orders_store_created on orders (store_id, created_at desc);

-- tick-off per line of the pick list.
alter table order_items
    add column picked_at timestamptz,
    add column picked_by uuid references users (id);

-- warnings for a store's staff (an order auto-rejected, …), shown on the board until read.
create table store_alerts (
    id uuid primary key,
    store_id uuid not null references stores (id) on delete cascade,
    order_id uuid references orders (id) on delete cascade,
    kind text not null check (kind in ('auto_rejected')),
    message text not null,
    created_at timestamptz not null default now(),
    dismissed_at timestamptz,
    dismissed_by uuid references users (id)
);
create index store_alerts_open on store_alerts (store_id, created_at desc) where dismissed_at is null;

-- the ping now names the store as well ("order_id:event_id:store_id"), so a store's board
-- hears its own orders without a query per ping.
create or replace function notify_order_event() returns trigger language plpgsql as $$
begin
    perform pg_notify('songda_order_events',
        new.order_id::text || ':' || new.id::text || ':' ||
        coalesce((select store_id::text from orders where id = new.order_id), ''));
    return new;
end $$;

-- a cancel request or a store warning wakes the store's board too (event id 0: no timeline row).
create function notify_store_change() returns trigger language plpgsql as $$
begin
    perform pg_notify('songda_order_events',
        coalesce(new.order_id::text, '00000000-0000-0000-0000-000000000000') || ':0:' ||
        coalesce((select store_id::text from orders where id = new.order_id), ''));
    return new;
end $$;
create trigger cancel_requests_notify after insert or update on cancel_requests
    for each row execute function notify_store_change();
