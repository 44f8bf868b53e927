-- Live dispatch: where couriers are, which orders they hold, the offers the planner makes and
-- why each decision was taken.

-- A courier's live state: last known position and the end of the current shift.
alter table couriers
    add column lat double precision,
    add column lng double precision,
    add column position_at timestamptz,
    add column shift_end timestamptz,
    add column online_since timestamptz;

-- Position history (kept for a limited period; a worker purges it).
create table courier_positions (
    courier_id uuid not null references couriers (user_id) on delete cascade,
    at timestamptz not null default now(),
    lat double precision not null check (lat between -90 and 90),
    lng double precision not null check (lng between -180 and 180)
);
create index courier_positions_courier_at on courier_positions (courier_id, at desc);
create index courier_positions_at on courier_positions (at);

-- Every planning round: its size, its cost and the snapshot it solved (for replay offline
-- with `routing solve`).
create table dispatch_rounds (
    id uuid primary key,
    at timestamptz not null default now(),
    trigger text not null,
    orders integer not null,
    couriers integer not null,
    unserved integer not null,
    cost double precision not null,
    solve_ms integer not null,
    snapshot jsonb not null
);
create index dispatch_rounds_at on dispatch_rounds (at desc);

-- Offers: one or more orders proposed to one courier, answered within the deadline.
create table offers (
    id uuid primary key,
    courier_id uuid not null references couriers (user_id) on delete cascade,
    round_id uuid references dispatch_rounds (id) on delete set null,
    status text not null default 'pending'
        check (status in ('pending', 'accepted', 'declined', 'expired', 'withdrawn')),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    answered_at timestamptz,
    earnings_fen bigint not null check (earnings_fen >= 0),
    distance_m integer not null check (distance_m >= 0)
);
create index offers_courier_status on offers (courier_id, status);
create index offers_pending_expiry on offers (expires_at) where status = 'pending';

create table offer_orders (
    offer_id uuid not null references offers (id) on delete cascade,
    order_id uuid not null references orders (id) on delete cascade,
    -- planned stop order within the offer
    pickup_seq integer not null,
    dropoff_seq integer not null,
    primary key (offer_id, order_id)
);
create index offer_orders_order on offer_orders (order_id);

-- Who carries an order, and what the plan says about it.
alter table orders
    add column courier_id uuid references couriers (user_id) on delete set null,
    add column offered_to uuid references couriers (user_id) on delete set null,
    -- operations pinned the order to its courier: the planner never moves it
    add column dispatch_pinned boolean not null default false,
    add column planned_pickup_at timestamptz,
    add column planned_dropoff_at timestamptz,
    add column planned_at timestamptz;
create index orders_courier on orders (courier_id) where courier_id is not null;

-- A courier who declined (or let expire) an order is not offered it again for a while.
create table offer_refusals (
    order_id uuid not null references orders (id) on delete cascade,
    courier_id uuid not null references couriers (user_id) on delete cascade,
    until timestamptz not null,
    primary key (order_id, courier_id)
);

-- Why each order went where it went (append-only, like order_events).
create table dispatch_decisions (
    id uuid primary key,
    -- no foreign key: rounds (with their large snapshots) are purged, decisions are kept
    round_id uuid,
    at timestamptz not null default now(),
    order_id uuid not null references orders (id),
    courier_id uuid references couriers (user_id),
    kind text not null check (kind in ('offered', 'accepted', 'declined', 'expired', 'withdrawn',
                                       'released', 'reassigned', 'unserved')),
    reason text not null,
    -- the plan's cost change attributed to this order (seconds of travel + lateness)
    cost_delta double precision,
    actor_id uuid references users (id)
);
create index dispatch_decisions_order on dispatch_decisions (order_id, at);

create function dispatch_decisions_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'dispatch_decisions is append-only';
end $$;
create trigger dispatch_decisions_no_change before update or delete on dispatch_decisions
    for each row execute function dispatch_decisions_append_only();

-- Wake the planner: a courier's state or an offer changed (orders ping through order_events).
create function notify_dispatch() returns trigger language plpgsql as $$
begin
    perform pg_notify('songda_dispatch', tg_table_name);
    return null;
end $$;
create trigger couriers_notify_dispatch after update of status on couriers
    for each row when (old.status is distinct from new.status) execute function notify_dispatch();
create trigger offers_notify_dispatch after update of status on offers
    for each row when (old.status is distinct from new.status) execute function notify_dispatch();
