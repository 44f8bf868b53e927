//! `routing` command line: solve a Li & Lim or `o2o-pdptw/v1` file, check a solution with the
//! independent checker, or run the benchmark table. Solutions go to standard output; progress
//! and logs to standard error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use routing::check;
use routing::formats::{self, Format};
use routing::problem::Problem;
use routing::solution::Solution;
use routing::solver::{Progress, SolveOptions, solve};

const USAGE: &str = "usage:
  routing solve FILE [--time-limit SECONDS] [--seed N] [--iterations N] [--quiet]
  routing check INSTANCE SOLUTION_JSON
  routing bench [--dir DIR] [--sets 100,200,400] [--limits 100=2,200=10,400=20] [--only NAME,CLASS]
               [--seed N | --seeds 1,2,3] [--jobs N]
  routing gen [--orders 500] [--couriers 100] [--seed N]     (a synthetic o2o-pdptw/v1 city)
  routing realtime [--orders 500] [--couriers 100] [--time-limit 1] [--seed N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("solve") => cmd_solve(&args[1..]),
        Some("check") => cmd_check(&args[1..]),
        Some("bench") => cmd_bench(&args[1..]),
        Some("gen") => cmd_gen(&args[1..]),
        Some("realtime") => cmd_realtime(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// `--name value` options after the positional arguments.
fn option<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn parse_num<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match option(args, name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("{name}: `{v}` is not a number")),
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

fn load(path: &str) -> Result<(Problem, Format), String> {
    let text = read(path)?;
    let name = Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("instance");
    let format = formats::detect(&text);
    let problem = match format {
        Format::LiLim => formats::parse_lilim(name, &text),
        Format::O2o => formats::parse_o2o(&text),
    }
    .map_err(|e| format!("{path}: {e}"))?;
    Ok((problem, format))
}

fn cmd_solve(args: &[String]) -> Result<ExitCode, String> {
    let path = args.first().filter(|a| !a.starts_with("--")).ok_or(USAGE)?;
    let (problem, format) = load(path)?;
    let opts = SolveOptions {
        seed: parse_num(args, "--seed", 1)?,
        time_limit: Duration::from_secs_f64(parse_num(args, "--time-limit", 1.0)?),
        max_iterations: parse_num(args, "--iterations", u64::MAX)?,
        ..SolveOptions::default()
    };
    let quiet = args.iter().any(|a| a == "--quiet");
    eprintln!(
        "{}: {} orders, {} vehicles, time limit {:.1} s, seed {}",
        problem.name,
        problem.requests.len(),
        problem.vehicles.len(),
        opts.time_limit.as_secs_f64(),
        opts.seed
    );
    let sol = solve(&problem, None, &opts, &mut |pr: &Progress| {
        if !quiet {
            log_progress(pr)
        }
    });
    let json = match format {
        Format::LiLim => formats::lilim_solution_json(&sol),
        Format::O2o => formats::o2o_solution_json(&problem, &sol),
    };
    println!("{json}");
    eprintln!(
        "vehicles {} · travel {:.2} · late {:.0} · unserved {} · cost {:.2}",
        sol.used_vehicles(),
        sol.travel(),
        sol.late(),
        sol.unassigned.len(),
        sol.cost(&problem)
    );
    Ok(ExitCode::SUCCESS)
}

fn log_progress(pr: &Progress) {
    eprintln!(
        "[{:>7.3} s] {:<9} iter {:>7}  vehicles {:>3}  unserved {:>3}  cost {:.2}",
        pr.elapsed.as_secs_f64(),
        pr.phase,
        pr.iterations,
        pr.vehicles,
        pr.unserved,
        pr.cost
    );
}

fn cmd_check(args: &[String]) -> Result<ExitCode, String> {
    let (Some(instance), Some(solution)) = (args.first(), args.get(1)) else {
        return Err(USAGE.into());
    };
    let (inst, sol) = (read(instance)?, read(solution)?);
    let report = match formats::detect(&inst) {
        Format::LiLim => check::check_lilim(&inst, &sol),
        Format::O2o => check::check_o2o(&inst, &sol),
    }?;
    println!(
        "vehicles {} · distance {:.4} · served {} · unserved {} · travel_s {} · late_s {} · cost {:.4}",
        report.vehicles,
        report.distance,
        report.served,
        report.unserved,
        report.travel_s,
        report.late_s,
        report.cost
    );
    for w in &report.warnings {
        println!("warning: {w}");
    }
    for v in &report.violations {
        println!("violation: {v}");
    }
    Ok(if report.feasible() {
        println!("feasible");
        ExitCode::SUCCESS
    } else {
        println!("INFEASIBLE");
        ExitCode::from(1)
    })
}

struct Bks {
    name: String,
    set: String,
    class: String,
    vehicles: usize,
    distance: f64,
}

fn read_bks(dir: &Path) -> Result<Vec<Bks>, String> {
    let text = read(&dir.join("bks.csv").to_string_lossy())?;
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 5 {
            continue;
        }
        out.push(Bks {
            name: f[0].to_string(),
            set: f[1].to_string(),
            class: f[2].to_string(),
            vehicles: f[3]
                .parse()
                .map_err(|_| format!("bks.csv: bad vehicles in `{line}`"))?,
            distance: f[4]
                .parse()
                .map_err(|_| format!("bks.csv: bad distance in `{line}`"))?,
        });
    }
    Ok(out)
}

/// One solved benchmark instance.
struct Row<'a> {
    bks: &'a Bks,
    seed: u64,
    vehicles: usize,
    distance: f64,
    secs: f64,
    ok: bool,
}

impl Row<'_> {
    /// Distance above the best known, in percent.
    fn gap(&self) -> f64 {
        (self.distance - self.bks.distance) / self.bks.distance * 100.0
    }
}

/// Solves one benchmark instance and checks the result with the independent checker.
fn bench_one<'a>(path: &Path, b: &'a Bks, seed: u64, limit: f64) -> Result<Row<'a>, String> {
    let text = read(&path.to_string_lossy())?;
    let problem = formats::parse_lilim(&b.name, &text)?;
    let opts = SolveOptions {
        seed,
        time_limit: Duration::from_secs_f64(limit),
        ..SolveOptions::default()
    };
    let started = Instant::now();
    let sol: Solution = solve(&problem, None, &opts, &mut |_| {});
    let secs = started.elapsed().as_secs_f64();
    let report = check::check_lilim(&text, &formats::lilim_solution_json(&sol))?;
    Ok(Row {
        bks: b,
        seed,
        vehicles: report.vehicles,
        distance: report.distance,
        secs,
        ok: report.feasible() && report.served * 2 == problem.n - 1,
    })
}

/// `--only` names instances or classes, comma-separated: `lrc2_2_4` or `lr2,lrc2`.
fn selected(only: &str, b: &Bks) -> bool {
    only.split(',').any(|o| o == b.name || o == b.class)
}

/// Solves every instance of the chosen sets once per seed, checks each result with the
/// independent checker and prints a table with the gap to the best known solutions and
/// totals per set and seed. Each solve runs on one thread; `--jobs N` runs N of them at once
/// (one per core: the time limits are for one core each). Several seeds show how much a
/// set's mean gap moves between runs, which one run cannot.
fn cmd_bench(args: &[String]) -> Result<ExitCode, String> {
    let dir = PathBuf::from(option(args, "--dir").unwrap_or("../shared/bench/lilim"));
    let sets: Vec<String> = option(args, "--sets")
        .unwrap_or("100,200,400")
        .split(',')
        .map(str::to_string)
        .collect();
    let mut limits = vec![("100", 2.0), ("200", 10.0), ("400", 20.0), ("600", 30.0)];
    if let Some(spec) = option(args, "--limits") {
        for part in spec.split(',') {
            let (set, secs) = part.split_once('=').ok_or("--limits: use SET=SECONDS,…")?;
            let secs: f64 = secs.parse().map_err(|_| format!("--limits: `{secs}`"))?;
            limits.retain(|(s, _)| *s != set);
            limits.push((Box::leak(set.to_string().into_boxed_str()), secs));
        }
    }
    let only = option(args, "--only");
    let seeds: Vec<u64> = match option(args, "--seeds") {
        Some(list) => list
            .split(',')
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("--seeds: `{v}` is not a number"))
            })
            .collect::<Result<_, _>>()?,
        None => vec![parse_num(args, "--seed", 1)?],
    };
    let jobs: usize = parse_num(args, "--jobs", 1)?;
    if jobs == 0 || seeds.is_empty() {
        return Err("--jobs and --seeds need at least one".into());
    }
    let several = seeds.len() > 1;
    let seed_list = seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let bks = read_bks(&dir)?;
    let mut out = std::io::stdout().lock();
    let mut any_infeasible = false;
    for set in &sets {
        let limit = limits
            .iter()
            .find(|(s, _)| s == set)
            .map_or(10.0, |(_, l)| *l);
        writeln!(
            out,
            "\n## Li & Lim {set} (time limit {limit} s per instance, one thread per solve, {jobs} at once, seed {seed_list})"
        )
        .ok();
        writeln!(
            out,
            "| instance | vehicles | BKS veh | distance | BKS distance | gap % | time s | checker |{}",
            if several { " seed |" } else { "" }
        )
        .ok();
        writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|---|{}",
            if several { "---:|" } else { "" }
        )
        .ok();
        // Every seed of one instance together, so its spread reads at a glance.
        let tasks: Vec<(&Bks, u64)> = bks
            .iter()
            .filter(|b| &b.set == set && only.is_none_or(|o| selected(o, b)))
            .flat_map(|b| seeds.iter().map(move |&seed| (b, seed)))
            .collect();
        let mut rows: Vec<Row> = Vec::with_capacity(tasks.len());
        run_in_order(
            tasks.len(),
            jobs,
            |k| {
                let (b, seed) = tasks[k];
                let path = dir
                    .join("instances")
                    .join(set)
                    .join(format!("{}.txt", b.name));
                bench_one(&path, b, seed, limit)
            },
            |row: Row| {
                writeln!(
                    out,
                    "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} |{}",
                    row.bks.name,
                    row.vehicles,
                    row.bks.vehicles,
                    row.distance,
                    row.bks.distance,
                    row.gap(),
                    row.secs,
                    if row.ok { "feasible" } else { "INFEASIBLE" },
                    if several {
                        format!(" {} |", row.seed)
                    } else {
                        String::new()
                    }
                )
                .ok();
                out.flush().ok();
                rows.push(row);
            },
        )?;
        any_infeasible |= rows.iter().any(|r| !r.ok);
        let mut means = Vec::new();
        for &seed in &seeds {
            let of_seed: Vec<&Row> = rows.iter().filter(|r| r.seed == seed).collect();
            if of_seed.is_empty() {
                continue;
            }
            let at: Vec<&&Row> = of_seed
                .iter()
                .filter(|r| r.vehicles <= r.bks.vehicles)
                .collect();
            let mean = at.iter().map(|r| r.gap()).sum::<f64>() / at.len().max(1) as f64;
            if !at.is_empty() {
                means.push(mean);
            }
            writeln!(
                out,
                "\n**{set}{}: {} of {} at the best-known vehicle count; mean distance gap on those {}; vehicles {} vs {}; mean time {:.2} s**",
                if several { format!(", seed {seed}") } else { String::new() },
                at.len(),
                of_seed.len(),
                if at.is_empty() { "n/a".to_string() } else { format!("{mean:.3} %") },
                of_seed.iter().map(|r| r.vehicles).sum::<usize>(),
                of_seed.iter().map(|r| r.bks.vehicles).sum::<usize>(),
                of_seed.iter().map(|r| r.secs).sum::<f64>() / of_seed.len() as f64
            )
            .ok();
        }
        if several && !means.is_empty() {
            let lo = means.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            writeln!(
                out,
                "\n**{set}: mean gap over {} seeds {:.3} % (per seed {lo:.3} to {hi:.3} %)**",
                means.len(),
                means.iter().sum::<f64>() / means.len() as f64
            )
            .ok();
        }
    }
    Ok(if any_infeasible {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs `work(0..count)` on `jobs` threads and hands the results to `done` in index order as
/// soon as each one and all before it are finished. The first error stops new work and is
/// returned once the running work has ended.
fn run_in_order<T: Send>(
    count: usize,
    jobs: usize,
    work: impl Fn(usize) -> Result<T, String> + Sync,
    mut done: impl FnMut(T),
) -> Result<(), String> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<T, String>)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(count) {
            let tx = tx.clone();
            let (next, stop, work) = (&next, &stop, &work);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= count {
                        break;
                    }
                    let result = work(k);
                    if result.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if tx.send((k, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut waiting: std::collections::BTreeMap<usize, T> = Default::default();
        let mut printed = 0;
        let mut error = None;
        for (k, result) in rx {
            match result {
                Ok(v) => {
                    waiting.insert(k, v);
                }
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
            while let Some(v) = waiting.remove(&printed) {
                done(v);
                printed += 1;
            }
        }
        error.map_or(Ok(()), Err)
    })
}

fn cmd_gen(args: &[String]) -> Result<ExitCode, String> {
    let orders = parse_num(args, "--orders", 500)?;
    let couriers = parse_num(args, "--couriers", 100)?;
    println!(
        "{}",
        routing::synthetic::snapshot(orders, couriers, parse_num(args, "--seed", 1)?)
    );
    Ok(ExitCode::SUCCESS)
}

/// The live-dispatch figure: re-plan a city snapshot from scratch within the time limit, then
/// add one order and re-plan incrementally from the current plan. Every plan is checked.
fn cmd_realtime(args: &[String]) -> Result<ExitCode, String> {
    let orders: usize = parse_num(args, "--orders", 500)?;
    let couriers: usize = parse_num(args, "--couriers", 100)?;
    let seed = parse_num(args, "--seed", 1)?;
    let limit = Duration::from_secs_f64(parse_num(args, "--time-limit", 1.0)?);
    // The snapshot with one order more; the "before" snapshot drops that order.
    let after_text = routing::synthetic::snapshot(orders + 1, couriers, seed);
    let mut before: serde_json::Value =
        serde_json::from_str(&after_text).map_err(|e| e.to_string())?;
    if let Some(list) = before["orders"].as_array_mut() {
        list.pop();
    }
    let before_text = before.to_string();
    let before = formats::parse_o2o(&before_text)?;
    let after = formats::parse_o2o(&after_text)?;
    let opts = SolveOptions {
        seed,
        time_limit: limit,
        ..SolveOptions::default()
    };
    let mut first_plan = None;
    let started = Instant::now();
    let sol = solve(&before, None, &opts, &mut |pr: &Progress| {
        if pr.phase == "construct" {
            first_plan = Some(pr.clone());
        }
        log_progress(pr)
    });
    let total = started.elapsed();
    let report = check::check_o2o(&before_text, &formats::o2o_solution_json(&before, &sol))?;
    let first = first_plan.ok_or("no construction report")?;
    println!("## Real-time re-plan: {orders} open orders, {couriers} couriers (one thread)");
    println!("| step | time ms | unserved | late s | travel s | cost | checker |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    println!(
        "| first complete plan (regret insertion) | {:.1} | {} | | | {:.0} | |",
        first.elapsed.as_secs_f64() * 1e3,
        first.unserved,
        first.cost
    );
    println!(
        "| improved plan at the time limit | {:.1} | {} | {} | {} | {:.0} | {} |",
        total.as_secs_f64() * 1e3,
        report.unserved,
        report.late_s,
        report.travel_s,
        report.cost,
        if report.feasible() {
            "feasible"
        } else {
            "INFEASIBLE"
        }
    );
    // One new order: start from the current plan.
    let initial = Solution::from_routes(&after, &sol.stop_lists())?;
    let mut inserted = None;
    let opts = SolveOptions {
        time_limit: limit / 5,
        ..opts
    };
    let started = Instant::now();
    let sol2 = solve(&after, Some(initial), &opts, &mut |pr: &Progress| {
        if pr.phase == "construct" {
            inserted = Some(pr.clone());
        }
    });
    let total2 = started.elapsed();
    let report2 = check::check_o2o(&after_text, &formats::o2o_solution_json(&after, &sol2))?;
    let ins = inserted.ok_or("no construction report")?;
    println!(
        "| one new order inserted into the current plan | {:.2} | {} | | | {:.0} | |",
        ins.elapsed.as_secs_f64() * 1e3,
        ins.unserved,
        ins.cost
    );
    println!(
        "| incremental re-plan ({:.0} ms budget) | {:.1} | {} | {} | {} | {:.0} | {} |",
        opts.time_limit.as_secs_f64() * 1e3,
        total2.as_secs_f64() * 1e3,
        report2.unserved,
        report2.late_s,
        report2.travel_s,
        report2.cost,
        if report2.feasible() {
            "feasible"
        } else {
            "INFEASIBLE"
        }
    );
    Ok(if report.feasible() && report2.feasible() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::{Bks, run_in_order, selected};

    #[test]
    fn only_takes_instances_and_classes() {
        let b = |name: &str, class: &str| Bks {
            name: name.into(),
            set: "200".into(),
            class: class.into(),
            vehicles: 3,
            distance: 1.0,
        };
        let lrc = b("lrc2_2_4", "lrc2");
        let lr = b("lr2_2_4", "lr2");
        assert!(selected("lrc2_2_4", &lrc));
        assert!(selected("lr1,lrc2", &lrc));
        assert!(
            !selected("lr2", &lrc),
            "a class is matched whole, not as a prefix"
        );
        assert!(selected("lr2", &lr));
        assert!(!selected("lrc2_2_40,lr2_2_4x", &lrc));
    }

    #[test]
    fn results_come_in_order_whatever_finishes_first() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let mut seen = Vec::new();
        let later_done = AtomicBool::new(false);
        let work = |k: usize| {
            // The first task finishes only after the second one has: results arrive out of
            // order (another thread takes the second task, so this cannot wait forever).
            if k == 0 {
                while !later_done.load(Ordering::Acquire) {
                    std::thread::yield_now();
                }
            } else if k == 1 {
                later_done.store(true, Ordering::Release);
            }
            Ok(k * 10)
        };
        run_in_order(8, 3, work, |v| seen.push(v)).expect("no task fails");
        assert_eq!(seen, (0..8).map(|k| k * 10).collect::<Vec<_>>());
    }

    #[test]
    fn the_first_error_stops_new_work_and_is_returned() {
        let started = std::sync::atomic::AtomicUsize::new(0);
        let mut seen = Vec::new();
        let result = run_in_order(
            100,
            2,
            |k| {
                started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if k == 3 {
                    Err(format!("task {k} failed"))
                } else {
                    Ok(k)
                }
            },
            |v| seen.push(v),
        );
        assert_eq!(result, Err("task 3 failed".to_string()));
        assert_eq!(&seen[..3], &[0, 1, 2]);
        assert!(started.load(std::sync::atomic::Ordering::Relaxed) < 100);
    }
}
