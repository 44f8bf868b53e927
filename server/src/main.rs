//! `songda` runs the platform (`songda --simulate`: with simulated customers, stores and
//! couriers); `songda postgres` runs only the private database (for tests);
//! `songda migrate` applies the migrations to `DATABASE_URL` and exits.

use tracing_subscriber::EnvFilter;

fn main() {
    // Server-side rendering of deep pages nests large futures; unoptimized (debug) builds
    // overflowed tokio's default 2 MiB worker stacks on the order page. 8 MiB is ample.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build();
    match runtime {
        Ok(rt) => rt.block_on(serve()),
        Err(e) => {
            eprintln!("songda: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    }
}

async fn serve() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("SONGDA_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let arg = std::env::args().nth(1);
    let config = match server::Config::from_env() {
        Ok(mut c) if arg.as_deref() == Some("--simulate") => match server::config::sim_config() {
            Ok(sim) => {
                c.simulate = Some(sim);
                c
            }
            Err(e) => {
                eprintln!("songda: configuration error: {e}");
                std::process::exit(2);
            }
        },
        Ok(c) => c,
        Err(e) => {
            eprintln!("songda: configuration error: {e}");
            std::process::exit(2);
        }
    };
    let result = match arg.as_deref() {
        None | Some("serve") | Some("--simulate") => server::run(config).await,
        Some("postgres") => server::run_postgres_only(config).await,
        Some("migrate") => server::run_migrate_only(config).await,
        Some(other) => Err(format!(
            "unknown command {other:?}; use `songda`, `songda --simulate` or `songda postgres`"
        )),
    };
    if let Err(e) = result {
        eprintln!("songda: {e}");
        std::process::exit(1);
    }
}
