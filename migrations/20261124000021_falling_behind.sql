-- when the courier accepted, the plan said they would be at the store at this time; a courier
-- whose planned pickup of a packed order slips well past it has fallen behind, and dispatch
-- gives the order to someone else.
alter table orders add column committed_pickup_at timestamptz;
