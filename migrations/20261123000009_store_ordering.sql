-- what stores decide about ordering: a spend-and-save discount (满减) and how many scheduled
-- orders one 30-minute slot may take (null: no cap).
alter table stores
    add column discount_threshold_fen bigint check (discount_threshold_fen > 0),
    add column discount_fen bigint check (discount_fen > 0),
    add column slot_capacity integer check (slot_capacity > 0),
    add column pickup_enabled boolean not null default true,
    add constraint stores_discount_pair check ((discount_threshold_fen is null) = (discount_fen is null)),
    add constraint stores_discount_below_threshold check (discount_fen < discount_threshold_fen);
