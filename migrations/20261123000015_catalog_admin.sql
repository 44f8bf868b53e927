-- catalog and stock administration: price history, a stock ledger kept by a trigger on every
-- path that changes on_hand, low-stock thresholds, product images and holiday exceptions to
-- opening hours (which store_open_at() now honours).

alter table products
    add column low_stock_threshold integer not null default 5
        check (low_stock_threshold between 0 and 100000),
    -- content-addressed file name under the uploads directory: sha256 hex + extension.
    add column image_file text check (image_file ~ '^[0-9a-f]{64}\.(png|jpg|webp)$');

create table price_history (
    id bigint generated always as identity primary key,
    product_id uuid not null references products (id) on delete cascade,
    old_price_fen bigint not null check (old_price_fen > 0),
    new_price_fen bigint not null check (new_price_fen > 0),
    changed_by uuid references users (id) on delete set null,
    changed_at timestamptz not null default now()
);
create index price_history_product on price_history (product_id, id desc);

-- every change of stock_levels.on_hand, written by the trigger below (never by hand).
create table stock_ledger (
    id bigint generated always as identity primary key,
    store_id uuid not null,
    product_id uuid not null,
    delta integer not null,
    on_hand_after integer not null,
    reason text not null check (reason in ('opening', 'delivery', 'damage', 'count', 'sale', 'return', 'import')),
    note text check (char_length(note) <= 200),
    actor_id uuid references users (id) on delete set null,
    order_id uuid references orders (id) on delete set null,
    at timestamptz not null default now(),
    foreign key (store_id, product_id) references stock_levels (store_id, product_id) on delete cascade
);
create index stock_ledger_product on stock_ledger (store_id, product_id, id desc);

insert into stock_ledger (store_id, product_id, delta, on_hand_after, reason, note)
select store_id, product_id, on_hand, on_hand, 'opening', 'opening balance'
from stock_levels;

-- the writer sets transaction-local songda.stock_reason / songda.actor_id / songda.order_id /
-- songda.stock_note when it knows them; otherwise the direction tells: less is a sale, more a
-- return (orders/lifecycle.rs commits and restocks without saying so).
create function stock_levels_ledger() returns trigger
language plpgsql as $$
declare
    v_reason text := nullif(current_setting('songda.stock_reason', true), '');
    v_actor uuid := nullif(current_setting('songda.actor_id', true), '')::uuid;
    v_order uuid := nullif(current_setting('songda.order_id', true), '')::uuid;
    v_note text := nullif(current_setting('songda.stock_note', true), '');
    v_delta integer;
begin
    if tg_op = 'INSERT' then
        v_delta := new.on_hand;
        v_reason := coalesce(v_reason, 'opening');
    else
        v_delta := new.on_hand - old.on_hand;
        -- a count that found exactly what the books say is still worth a line.
        if v_delta = 0 and v_reason is distinct from 'count' then
            return null;
        end if;
        v_reason := coalesce(v_reason, case when v_delta < 0 then 'sale' else 'return' end);
    end if;
    insert into stock_ledger (store_id, product_id, delta, on_hand_after, reason, note, actor_id, order_id)
    values (new.store_id, new.product_id, v_delta, new.on_hand, v_reason, v_note, v_actor, v_order);
    return null;
end
$$;

create trigger stock_levels_ledger
after insert or update of on_hand on stock_levels
for each row execute function stock_levels_ledger();

-- the ledger is history: rows are never rewritten (they go only with their product).
create function stock_ledger_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'stock_ledger is append-only: record a new adjustment instead';
end
$$;

create trigger stock_ledger_append_only
before update on stock_ledger
for each row execute function stock_ledger_append_only();

-- a date that differs from the weekly hours: closed all day (no times) or open only
-- opens–closes (local time of the store).
create table store_hour_exceptions (
    store_id uuid not null references stores (id) on delete cascade,
    day date not null,
    opens time,
    closes time,
    note text not null default '' check (char_length(note) <= 60),
    primary key (store_id, day),
    check ((opens is null) = (closes is null)),
    check (closes > opens)
);

create or replace function store_open_at(p_store uuid, p_tz text, p_at timestamptz) returns boolean
language sql stable as $$
    select case
        when e.store_id is not null then
            e.opens is not null
            and (p_at at time zone p_tz)::time >= e.opens
            and (p_at at time zone p_tz)::time < e.closes
        else exists (
            select 1 from store_hours h
            where h.store_id = p_store
              and h.weekday = extract(isodow from p_at at time zone p_tz)
              and (p_at at time zone p_tz)::time >= h.opens
              and (p_at at time zone p_tz)::time < h.closes
        )
    end
    from (select 1) one
    left join store_hour_exceptions e
        on e.store_id = p_store and e.day = (p_at at time zone p_tz)::date
$$;
