//! Database tests: a fresh database per test on the real PostgreSQL.

use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn demo_city_is_seeded_once_with_everything_a_visitor_needs(pool: PgPool) {
    assert!(server::seed::seed_demo_city(&pool).await.unwrap());
    assert!(
        !server::seed::seed_demo_city(&pool).await.unwrap(),
        "second start must not seed again"
    );

    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert!(count("select count(*) from stores").await >= 12);
    assert_eq!(count("select count(distinct kind) from stores").await, 6);
    assert!(count("select count(*) from products").await >= 300);
    assert_eq!(count("select count(*) from products p left join stock_levels s on s.product_id = p.id where s.product_id is null").await, 0);
    assert_eq!(count("select count(*) from couriers").await, 25);
    assert_eq!(count("select count(distinct role) from users").await, 4);
    assert_eq!(count("select count(*) from stores s where not exists (select 1 from store_hours h where h.store_id = s.id)").await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn stock_can_never_be_reserved_beyond_what_is_on_hand(pool: PgPool) {
    server::seed::seed_demo_city(&pool).await.unwrap();
    let err = sqlx::query("update stock_levels set reserved = on_hand + 1 where on_hand > 0")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("stock_levels_check") || err.to_string().contains("check"),
        "{err}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn emails_are_unique_whatever_their_case(pool: PgPool) {
    // The column only accepts lowercase, so "A@x.cn" and "a@x.cn" cannot both exist.
    let err = sqlx::query(
        "insert into users (id, email, display_name, password_hash, role) values (gen_random_uuid(), 'A@x.cn', 'a', 'h', 'customer')",
    )
    .execute(&pool)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("check"), "{err}");
}
