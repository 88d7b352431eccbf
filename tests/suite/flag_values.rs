//! Every option of every subcommand, walked from the command line's own definition: float
//! flags refuse values that are not finite numbers and values outside the range their help
//! states, and take the values inside it; integer options at 0, 1 and their maximum end
//! with an exit status and a message, never a panic.

use std::any::TypeId;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::{small_settings, stderr, BIN};
use clap::{Arg, CommandFactory};
use plastic_zoo::cli::Cli;

/// One option of one subcommand: the words before it (`train plastic-rnn`) and the option.
struct Option_ {
    path: Vec<String>,
    arg: Arg,
}

impl Option_ {
    fn flag(&self) -> String {
        format!(
            "--{}",
            self.arg.get_long().expect("options have long names")
        )
    }

    fn is<T: 'static>(&self) -> bool {
        self.arg.get_value_parser().type_id() == TypeId::of::<T>()
    }

    fn help(&self) -> String {
        self.arg
            .get_help()
            .map(ToString::to_string)
            .unwrap_or_default()
    }
}

/// Every option that takes a value, of every subcommand.
fn options() -> Vec<Option_> {
    fn walk(command: &clap::Command, path: Vec<String>, out: &mut Vec<Option_>) {
        for arg in command.get_arguments() {
            let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
            if arg.get_long().is_some() && takes_value && !arg.is_hide_set() {
                out.push(Option_ {
                    path: path.clone(),
                    arg: arg.clone(),
                });
            }
        }
        for sub in command.get_subcommands() {
            let mut next = path.clone();
            next.push(sub.get_name().to_string());
            walk(sub, next, out);
        }
    }
    let mut command = Cli::command();
    command.build();
    let mut out = Vec::new();
    walk(&command, Vec::new(), &mut out);
    out
}

/// `0 < x < ∞` as the help writes it: `[range: (0, ∞)]`.
#[derive(Debug, Clone, Copy)]
struct Range {
    low: f64,
    low_closed: bool,
    high: f64,
    high_closed: bool,
}

fn stated_range(help: &str) -> Option<Range> {
    let rest = &help[help.find("[range: ")? + "[range: ".len()..];
    let low_closed = rest.starts_with('[');
    let comma = rest.find(", ")?;
    let low = parse_bound(&rest[1..comma])?;
    let after = &rest[comma + 2..];
    let end = after.find([')', ']'])?;
    let high = parse_bound(&after[..end])?;
    Some(Range {
        low,
        low_closed,
        high,
        high_closed: after[end..].starts_with(']'),
    })
}

fn parse_bound(text: &str) -> Option<f64> {
    match text.trim() {
        "∞" => Some(f64::INFINITY),
        "-∞" => Some(f64::NEG_INFINITY),
        number => number.parse().ok(),
    }
}

/// The value just outside each finite bound, and one inside.
fn probes(range: Range) -> (Vec<f64>, f64) {
    let step = |bound: f64| 1e-3 * bound.abs().max(1.0);
    let mut outside = Vec::new();
    if range.low.is_finite() {
        outside.push(if range.low_closed {
            range.low - step(range.low)
        } else {
            range.low
        });
    }
    if range.high.is_finite() {
        outside.push(if range.high_closed {
            range.high + step(range.high)
        } else {
            range.high
        });
    }
    let inside = match (range.low.is_finite(), range.high.is_finite()) {
        (true, true) => (range.low + range.high) / 2.0,
        (true, false) => range.low + step(range.low) * 100.0,
        (false, true) => range.high - step(range.high) * 100.0,
        (false, false) => 0.5,
    };
    (outside, inside)
}

fn run_line(args: &[String]) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary starts");
    (out.status.code(), stderr(&out))
}

fn one_line(err: &str) -> Vec<&str> {
    err.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn float_options_refuse_what_is_not_finite_naming_the_flag() {
    let floats: Vec<Option_> = options()
        .into_iter()
        .filter(|o| o.is::<f64>() || o.is::<f32>())
        .collect();
    assert!(floats.len() > 40, "{} float options", floats.len());
    // Should a value slip through, the run it starts goes to a scratch root.
    let out = tempfile::tempdir().unwrap();
    let out = out.path().to_str().unwrap().to_string();
    let mut failures = Vec::new();
    for option in &floats {
        let flag = option.flag();
        for value in ["nan", "inf", "-inf"] {
            let mut args = option.path.clone();
            args.push(format!("{flag}={value}"));
            if option.path.first().is_some_and(|w| w == "train") {
                args.extend([
                    "--max-memory".into(),
                    "1".into(),
                    "--out".into(),
                    out.clone(),
                ]);
            }
            let (code, err) = run_line(&args);
            let lines = one_line(&err);
            if code != Some(2) || lines.len() != 1 || !lines[0].contains(&flag) {
                failures.push(format!("{args:?}: exit {code:?}, {err}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn float_options_state_their_range_and_validation_holds_to_it() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path().to_str().unwrap().to_string();
    let mut failures = Vec::new();
    let floats: Vec<Option_> = options()
        .into_iter()
        .filter(|o| {
            (o.is::<f64>() || o.is::<f32>()) && o.path.first().is_some_and(|w| w == "train")
        })
        .collect();
    for option in &floats {
        let flag = option.flag();
        let Some(range) = stated_range(&option.help()) else {
            failures.push(format!(
                "{} {flag} states no [range: …] in its help: {}",
                option.path.join(" "),
                option.help()
            ));
            continue;
        };
        let (outside, inside) = probes(range);
        let command = |value: f64| {
            let mut args = option.path.clone();
            args.extend([
                format!("{flag}={value}"),
                "--max-memory".into(),
                "1".into(),
                "--out".into(),
                out.clone(),
            ]);
            args
        };
        for value in outside {
            let args = command(value);
            let (code, err) = run_line(&args);
            let lines = one_line(&err);
            let refused = code == Some(1)
                && lines.len() == 1
                && lines[0].contains(&flag)
                && !lines[0].contains("--max-memory");
            if !refused {
                failures.push(format!(
                    "{args:?} lies outside {range:?} but was not refused naming {flag}: exit {code:?}, {err}"
                ));
            }
        }
        // Inside the range, the range check passes and the memory guard (1 byte) stops the run.
        // (A rule that ties it to another setting may still refuse it, in other words.)
        let args = command(inside);
        let (code, err) = run_line(&args);
        let passed = err.contains("--max-memory") || !err.contains(&format!("{flag} must lie in"));
        if code != Some(1) || !passed {
            failures.push(format!(
                "{args:?} lies inside {range:?} but did not pass validation: exit {code:?}, {err}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `args` for at most `limit`; `None`: still running then (killed).
fn run_bounded(args: &[String], limit: Duration) -> Option<(Option<i32>, String)> {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return Some((status.code(), err));
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn integer_options_at_their_boundaries_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap().to_string();
    let zoo_run = Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/zoo/plastic-rnn/bohp");
    let zoo_run = zoo_run.to_str().unwrap().to_string();
    let mut cases: Vec<Vec<String>> = Vec::new();
    for option in options() {
        let maximum = if option.is::<usize>() {
            usize::MAX.to_string()
        } else if option.is::<u64>() {
            u64::MAX.to_string()
        } else if option.is::<u32>() {
            u32::MAX.to_string()
        } else {
            continue;
        };
        let flag = option.flag();
        for value in ["0".to_string(), "1".to_string(), maximum] {
            let mut args = option.path.clone();
            match option.path.first().map(String::as_str) {
                Some("train") => {
                    for (name, default) in small_settings(&option.path[1]) {
                        if name != flag {
                            args.extend([name.to_string(), default.to_string()]);
                        }
                    }
                    args.extend(["--out".into(), out.clone()]);
                    args.extend(["--run-name".into(), format!("case{}", cases.len())]);
                }
                Some("eval") => args.push(zoo_run.clone()),
                Some("compare") => args.extend(["--out".into(), out.clone()]),
                _ => {}
            }
            args.extend([flag.clone(), value]);
            cases.push(args);
        }
    }
    assert!(cases.len() > 150, "{} cases", cases.len());
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(args) = cases.get(k) else { break };
                // A value at a boundary that panics does so while the flags are read, the run
                // is validated, its memory estimated or its first steps taken; a case still
                // running at 8 s is training on (an episode count of usize::MAX, say) and is
                // stopped unjudged.
                if let Some((code, err)) = run_bounded(args, Duration::from_secs(8)) {
                    let panicked = code == Some(101)
                        || code.is_none()
                        || err.contains("panicked")
                        || err.contains("backtrace");
                    if panicked {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{args:?}: exit {code:?}\n{err}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
