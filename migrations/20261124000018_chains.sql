-- chains: branches of one merchant brand. a delivery order goes to the branch that has every
-- item and delivers soonest; the same item across branches = the same name and unit.
create table chains (
    id uuid primary key,
    name text not null unique,
    created_at timestamptz not null default now()
);
alter table stores add column chain_id uuid references chains (id) on delete set null;
create index stores_chain_id on stores (chain_id) where chain_id is not null;
create index products_store_name_unit on products (store_id, name, unit);

-- the store whose cart was checked out, when another branch of its chain fulfils the order:
-- payment empties that cart.
alter table quotes add column cart_store_id uuid references stores (id) on delete cascade;
alter table orders add column cart_store_id uuid references stores (id);
