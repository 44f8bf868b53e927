//! The `routing bench` command as a user runs it: a benchmark directory, several seeds, two
//! solves at once.

use std::path::PathBuf;
use std::process::Command;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lilim100");

/// A benchmark directory (bks.csv and instances/100/) holding `names`, plus `missing` listed
/// in bks.csv without its file.
fn bench_dir(tag: &str, names: &[&str], missing: Option<&str>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("routing-cli-{tag}-{}", std::process::id()));
    let instances = dir.join("instances/100");
    std::fs::create_dir_all(&instances).expect("temp dir");
    let bks = std::fs::read_to_string(format!("{DATA}/bks.csv")).expect("bks.csv");
    let mut lines = vec![bks.lines().next().expect("header").to_string()];
    for line in bks.lines().skip(1) {
        let name = line.split(',').next().unwrap_or_default();
        if names.contains(&name) {
            std::fs::copy(
                format!("{DATA}/{name}.txt"),
                instances.join(format!("{name}.txt")),
            )
            .expect("copy instance");
            lines.push(line.to_string());
        } else if missing == Some(name) {
            lines.push(line.to_string());
        }
    }
    std::fs::write(dir.join("bks.csv"), lines.join("\n") + "\n").expect("write bks.csv");
    dir
}

fn bench(dir: &PathBuf, extra: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_routing"))
        .arg("bench")
        .arg("--dir")
        .arg(dir)
        .args(["--sets", "100", "--limits", "100=0.2"])
        .args(extra)
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bench_with_several_seeds_lists_each_run_in_order_and_the_spread() {
    let dir = bench_dir("seeds", &["lc101", "lr201"], None);
    let (ok, out, err) = bench(&dir, &["--seeds", "3,4", "--jobs", "2"]);
    assert!(ok, "{err}");
    let rows: Vec<(String, String)> = out
        .lines()
        .filter(|l| l.starts_with("| l"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            assert_eq!(cells[8], "feasible", "{l}");
            (cells[1].to_string(), cells[9].to_string())
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("lc101", "3"),
        ("lc101", "4"),
        ("lr201", "3"),
        ("lr201", "4"),
    ]
    .iter()
    .map(|(n, s)| (n.to_string(), s.to_string()))
    .collect();
    assert_eq!(rows, expected, "{out}");
    assert!(out.contains("**100, seed 3: "), "{out}");
    assert!(out.contains("**100, seed 4: "), "{out}");
    assert!(out.contains("**100: mean gap over 2 seeds "), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bench_names_a_missing_instance_file_and_fails() {
    let dir = bench_dir("missing", &["lc101"], Some("lr201"));
    let (ok, _, err) = bench(&dir, &["--jobs", "2"]);
    assert!(!ok);
    assert!(err.contains("lr201.txt"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}
