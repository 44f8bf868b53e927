-- proof of delivery: the customer's 4-digit pin (shown on their order page once paid) is
-- what the courier enters at the door.
alter table orders add column delivery_pin text,
                   add column delivered_at timestamptz;
update orders set delivery_pin = lpad(floor(random() * 10000)::int::text, 4, '0')
where fulfilment = 'delivery' and paid_at is not null;
create index orders_courier_open on orders (courier_id)
    where courier_id is not null and status in ('placed', 'accepted', 'picking', 'ready', 'picked_up', 'delivering');
