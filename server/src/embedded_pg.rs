//! A private PostgreSQL cluster under the data directory, started from the machine's own
//! PostgreSQL binaries (Debian's `postgresql` package). Postgres refuses to run as root, so
//! when we are root the cluster runs as an unprivileged system user.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::unistd::{Gid, Uid, User};

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "PostgreSQL server binaries not found (looked for initdb via pg_config and in /usr/lib/postgresql/*/bin). \
         Install them with `apt-get install -y postgresql`, or set DATABASE_URL to use an existing server."
    )]
    NoBinaries,
    #[error(
        "running as root, but the system user `{0}` that should own the database does not exist; create it (`useradd --system {0}`) or set SONGDA_PG_USER"
    )]
    NoUser(String),
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PgError {
    let what = what.into();
    move |e| PgError::Io(what, e)
}

pub struct PgOptions {
    pub data_dir: PathBuf,
    /// System user that runs the cluster when we are root.
    pub run_as: String,
    /// `fsync=off` is only for throwaway test clusters.
    pub fsync: bool,
}

/// A running private cluster; call [`PrivateCluster::stop`] on shutdown. `url` points at the
/// maintenance database `postgres`: the server creates its own database next to it.
pub struct PrivateCluster {
    bin: PathBuf,
    pgdata: PathBuf,
    owner: Option<(Uid, Gid)>,
    pub url: String,
}

fn find_bin_dir() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists());
    if from_pg_config.is_some() {
        return from_pg_config;
    }
    let mut dirs: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, p)| p)
}

fn free_port() -> Result<u16, PgError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io("finding a free port for PostgreSQL"))?;
    Ok(l.local_addr().map_err(io("finding a free port"))?.port())
}

fn random_hex(bytes: usize) -> Result<String, PgError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| PgError::Command {
        what: "reading random bytes".into(),
        detail: e.to_string(),
    })?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

impl PrivateCluster {
    fn command(&self, program: &str) -> Command {
        command_as(&self.bin.join(program), self.owner)
    }

    fn run(&self, what: &str, mut cmd: Command) -> Result<(), PgError> {
        run(what, &mut cmd)
    }

    /// Initializes the cluster on first use, stops a stale one left by a crash, starts it on a
    /// free port and makes sure the `songda` database exists.
    pub fn start(opts: &PgOptions) -> Result<PrivateCluster, PgError> {
        let bin = find_bin_dir().ok_or(PgError::NoBinaries)?;
        let owner = if Uid::effective().is_root() {
            let user = User::from_name(&opts.run_as)
                .ok()
                .flatten()
                .ok_or_else(|| PgError::NoUser(opts.run_as.clone()))?;
            Some((user.uid, user.gid))
        } else {
            None
        };
        fs::create_dir_all(&opts.data_dir)
            .map_err(io(format!("creating {}", opts.data_dir.display())))?;
        let data_dir = opts
            .data_dir
            .canonicalize()
            .map_err(io("resolving the data directory"))?;
        let pgdata = data_dir.join("pg");
        let password_file = data_dir.join("pg-password");
        let mut cluster = PrivateCluster {
            bin,
            pgdata: pgdata.clone(),
            owner,
            url: String::new(),
        };

        if let Some((uid, _)) = owner {
            allow_traversal(&data_dir, uid)?;
        }

        if !pgdata.join("PG_VERSION").exists() {
            cluster.init(&data_dir, &password_file)?;
        } else if pgdata.join("postmaster.pid").exists() {
            // Left running by a killed server: stop it before starting our own.
            tracing::warn!(
                "stopping a stale PostgreSQL cluster in {}",
                pgdata.display()
            );
            let mut stop = cluster.command("pg_ctl");
            stop.arg("-D")
                .arg(&pgdata)
                .args(["-m", "immediate", "-w", "stop"]);
            let _ = run("stopping the stale cluster", &mut stop);
        }

        let password = fs::read_to_string(&password_file)
            .map_err(io(format!("reading {}", password_file.display())))?;
        let port = free_port()?;
        // Unix socket paths are limited to ~107 bytes, so it lives in /tmp rather than under a deep checkout.
        let socket_dir = PathBuf::from("/tmp");
        let fsync = if opts.fsync { "on" } else { "off" };
        let mut start = cluster.command("pg_ctl");
        start
            .arg("-D")
            .arg(&pgdata)
            .arg("-l")
            .arg(pgdata.join("server.log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync={fsync} -c max_connections=200",
                socket_dir.display()
            ))
            .args(["-w", "-t", "60", "start"]);
        cluster.run("starting PostgreSQL (see .data/pg/server.log)", start)?;
        cluster.url = format!(
            "postgres://songda:{}@127.0.0.1:{port}/postgres",
            password.trim()
        );
        Ok(cluster)
    }

    fn init(&self, data_dir: &Path, password_file: &Path) -> Result<(), PgError> {
        tracing::info!(
            "creating a private PostgreSQL cluster in {}",
            self.pgdata.display()
        );
        let password = random_hex(24)?;
        fs::write(password_file, &password).map_err(io("writing the database password"))?;
        fs::set_permissions(password_file, fs::Permissions::from_mode(0o600))
            .map_err(io("protecting the database password"))?;
        // initdb reads the superuser password from a file the cluster owner can read.
        let pwfile = data_dir.join("pg-initdb-password");
        fs::write(&pwfile, &password).map_err(io("writing the initdb password file"))?;
        fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600))
            .map_err(io("protecting the password file"))?;
        fs::create_dir_all(&self.pgdata).map_err(io("creating the cluster directory"))?;
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(&pwfile, Some(uid.as_raw()), Some(gid.as_raw()))
                .map_err(io("chown"))?;
            std::os::unix::fs::chown(&self.pgdata, Some(uid.as_raw()), Some(gid.as_raw()))
                .map_err(io("chown"))?;
        }
        fs::set_permissions(&self.pgdata, fs::Permissions::from_mode(0o700))
            .map_err(io("chmod"))?;
        let mut initdb = self.command("initdb");
        initdb
            .arg("-D")
            .arg(&self.pgdata)
            .args([
                "-U",
                "songda",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--auth=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pwfile.display()));
        let result = self.run("initdb", initdb);
        let _ = fs::remove_file(&pwfile);
        result?;
        Ok(())
    }

    /// Stops the cluster (fast shutdown: open sessions are ended, data is flushed).
    pub fn stop(&self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(&self.pgdata)
            .args(["-m", "fast", "-w", "stop"]);
        match run("stopping PostgreSQL", &mut stop) {
            Ok(()) => tracing::info!("private PostgreSQL cluster stopped"),
            Err(e) => tracing::error!("{e}"),
        }
    }
}

fn command_as(program: &Path, owner: Option<(Uid, Gid)>) -> Command {
    let mut cmd = Command::new(program);
    if let Some((uid, gid)) = owner {
        cmd.uid(uid.as_raw()).gid(gid.as_raw());
        // The cluster owner cannot read root's working directory; run from somewhere neutral.
        cmd.current_dir("/");
    }
    cmd.stdin(Stdio::null());
    cmd
}

fn run(what: &str, cmd: &mut Command) -> Result<(), PgError> {
    let out = cmd.output().map_err(io(what.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(PgError::Command {
            what: what.to_string(),
            detail: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            ),
        })
    }
}

/// The cluster owner must be able to reach the data directory: grant search (x) permission
/// on ancestors that deny it (e.g. a checkout under /root, which is 0700 on Debian).
fn allow_traversal(data_dir: &Path, uid: Uid) -> Result<(), PgError> {
    for dir in data_dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(dir) else {
            continue;
        };
        let mode = meta.permissions().mode();
        use std::os::unix::fs::MetadataExt;
        let owner_ok = meta.uid() == uid.as_raw() && mode & 0o100 != 0;
        if mode & 0o001 == 0 && !owner_ok {
            tracing::warn!(
                "granting others search permission (o+x, not read) on {} so PostgreSQL's user can reach {}",
                dir.display(),
                data_dir.display()
            );
            fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o001))
                .map_err(io("chmod o+x"))?;
        }
    }
    let mode = fs::metadata(data_dir)
        .map_err(io("stat data dir"))?
        .permissions()
        .mode();
    if mode & 0o001 == 0 {
        fs::set_permissions(data_dir, fs::Permissions::from_mode(mode | 0o001))
            .map_err(io("chmod o+x"))?;
    }
    Ok(())
}
