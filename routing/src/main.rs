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
  routing bench [--dir DIR] [--sets 100,200,400] [--limits 100=2,200=10,400=20] [--only NAME]
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

/// Solves every instance of the chosen sets once, checks each result with the independent
/// checker and prints a table with the gap to the best known solutions and totals per set.
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
    let seed: u64 = parse_num(args, "--seed", 1)?;
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
            "\n## Li & Lim {set} (time limit {limit} s per instance, one thread, seed {seed})"
        )
        .ok();
        writeln!(
            out,
            "| instance | vehicles | BKS veh | distance | BKS distance | gap % | time s | checker |"
        )
        .ok();
        writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---|").ok();
        let (mut count, mut at_bks, mut gap_sum, mut time_sum, mut veh_sum, mut bks_veh_sum) =
            (0, 0, 0.0, 0.0, 0, 0);
        for b in bks
            .iter()
            .filter(|b| &b.set == set && only.is_none_or(|o| o == b.name))
        {
            let path = dir
                .join("instances")
                .join(set)
                .join(format!("{}.txt", b.name));
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
            let ok = report.feasible() && report.served * 2 == problem.n - 1;
            any_infeasible |= !ok;
            let gap = (report.distance - b.distance) / b.distance * 100.0;
            count += 1;
            veh_sum += report.vehicles;
            bks_veh_sum += b.vehicles;
            time_sum += secs;
            if report.vehicles <= b.vehicles {
                at_bks += 1;
                gap_sum += gap;
            }
            writeln!(
                out,
                "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
                b.name,
                report.vehicles,
                b.vehicles,
                report.distance,
                b.distance,
                gap,
                secs,
                if ok { "feasible" } else { "INFEASIBLE" }
            )
            .ok();
            out.flush().ok();
        }
        if count > 0 {
            writeln!(
                out,
                "\n**{set}: {at_bks} of {count} at the best-known vehicle count; mean distance gap on those {:.3} %; vehicles {veh_sum} vs {bks_veh_sum}; mean time {:.2} s**",
                if at_bks > 0 { gap_sum / at_bks as f64 } else { f64::NAN },
                time_sum / count as f64
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
