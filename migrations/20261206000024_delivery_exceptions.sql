-- A delivery that could not be completed at the door: why, and what follows. "retry" keeps
-- the order with the courier (they try again); "return" fails the delivery and the goods go
-- back to the store, which confirms receipt (returned_at), restocks what can be sold again
-- and refunds the goods.
create table delivery_attempts (
    id bigserial primary key,
    order_id uuid not null references orders (id) on delete cascade,
    courier_id uuid not null references couriers (user_id),
    reason text not null check (reason in ('no_answer', 'wrong_address', 'refused')),
    follow_up text not null check (follow_up in ('retry', 'return')),
    at timestamptz not null default now()
);
create index delivery_attempts_order on delivery_attempts (order_id, id);

alter table orders add column returned_at timestamptz;
-- Couriers with goods to bring back.
create index orders_returns on orders (courier_id) where status = 'delivery_failed' and returned_at is null;

-- Products the merchant marks as restricted are handed over only after an ID/age check.
alter table products add column restricted text
    check (restricted in ('medicine', 'alcohol', 'tobacco'));
alter table orders add column id_checked_at timestamptz;

-- Proof of delivery photo (optional, beside the PIN), kept small.
create table delivery_photos (
    order_id uuid primary key references orders (id) on delete cascade,
    courier_id uuid not null references couriers (user_id),
    content_type text not null check (content_type in ('image/jpeg', 'image/png', 'image/webp')),
    bytes bytea not null check (octet_length(bytes) between 1 and 1048576),
    at timestamptz not null default now()
);
