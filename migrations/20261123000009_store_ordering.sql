-- what stores decide about ordering: a spend-and-save discount (满减) and how many scheduled
-- orders one 30-minute slot may take (null: no cap).
alter table stores
    add column discount_threshold_fen bigint check (discount_threshold_fen > 0),
    add column discount_fen bigint check (discount_fen > 0),
    add column slot_capacity integer check (slot_capacity > 0),
    add column pickup_enabled boolean not null default true,
    add constraint stores_discount_pair check ((discount_threshold_fen is null) = (discount_fen is null)),
    add constraint stores_discount_below_threshold check (discount_fen < discount_threshold_fen);

-- whether a store is open at a moment, in its own time zone: one definition for every query
-- (store lists, quotes, checkout).
create function store_open_at(p_store uuid, p_tz text, p_at timestamptz) returns boolean
language sql stable as $$
    select exists (
        select 1 from store_hours h
        where h.store_id = p_store
          and h.weekday = extract(isodow from p_at at time zone p_tz)
          and (p_at at time zone p_tz)::time >= h.opens
          and (p_at at time zone p_tz)::time < h.closes
    )
$$;
