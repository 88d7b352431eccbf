//! plastic-zoo: train, evaluate and benchmark networks that learn the way synapses do.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Parser;

use plastic_zoo::backend::{self, BackendChoice};
use plastic_zoo::checkpoint::RunDir;
use plastic_zoo::cli::{
    BenchModel, Cli, Command, EvalArgs, HebbianFfArgs, LearnedRuleArgs, PlasticRnnArgs, RuleNetArg,
    TrainModel,
};
use plastic_zoo::config::{resolve_plastic_rnn, GradientEngine, PlasticRnnRun};
use plastic_zoo::train::plastic_rnn::{self as plastic, MODEL_NAME};
use plastic_zoo::train::{feedback_alignment, hebbian_ff, learned_rule};
use plastic_zoo::{bench, checkpoint, compare, models};

fn main() -> ExitCode {
    keep_freed_memory();
    die_quietly_on_closed_pipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) || matches!(
                err.kind(),
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = err.print();
                return if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // One line: clap's first, which names the offending argument.
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or("error: invalid arguments");
            eprintln!("{first} (see `plastic-zoo --help` and `plastic-zoo list`)");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let message = format!("{err:#}").replace('\n', " ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let backend = backend::resolve(cli.backend)?;
    match cli.command {
        Command::List => {
            for line in models::list_lines() {
                println!("{line}");
            }
            Ok(())
        }
        Command::Train(TrainModel::PlasticRnn(args)) => train_plastic_rnn(&args, backend),
        Command::Train(TrainModel::HebbianFf(args)) => train_hebbian_ff(&args, backend),
        Command::Train(TrainModel::LearnedRule(args)) => train_learned_rule(&args, backend),
        Command::Train(TrainModel::FeedbackAlignment(args)) => {
            feedback_alignment::train_methods(&args, backend)
        }
        Command::Eval(args) => eval(&args, backend),
        Command::Bench(BenchModel::PlasticRnn(args)) => bench::bench_plastic_rnn(&args, backend),
        Command::Compare(args) => compare::compare(&args, backend),
    }
}

fn train_plastic_rnn(args: &PlasticRnnArgs, backend: BackendChoice) -> anyhow::Result<()> {
    let (config, run, resume) = match &args.run.resume {
        Some(dir) => {
            let run = RunDir::open(dir)?;
            run.read_state(MODEL_NAME)?;
            let mut config: PlasticRnnRun = run.read_json(checkpoint::CONFIG_FILE)?;
            if args.run.config.is_some()
                || args.run.run_name.is_some()
                || changes_more_than_length(args)
            {
                bail!("--resume continues a run as it was configured; only --episodes and --checkpoint-every may change");
            }
            if let Some(episodes) = args.episodes {
                config.train.episodes = episodes;
            }
            if let Some(every) = args.checkpoint_every {
                config.train.checkpoint_every = every;
            }
            plastic_zoo::config::validate(&config).context("cannot resume")?;
            if config.gradient == GradientEngine::Rtrl {
                plastic::check_rtrl_memory(&config.model, config.train.batch, args.max_memory)?;
            }
            run.write_json(checkpoint::CONFIG_FILE, &config)?;
            (config, run, true)
        }
        None => {
            let config =
                resolve_plastic_rnn(&args.preset, args.run.config.as_deref(), &args.overrides())?;
            if config.gradient == GradientEngine::Rtrl {
                plastic::check_rtrl_memory(&config.model, config.train.batch, args.max_memory)?;
            }
            let name = args
                .run
                .run_name
                .clone()
                .unwrap_or_else(|| format!("{}-seed{}", config.preset, config.train.seed));
            let run = RunDir::create(&args.run.out, MODEL_NAME, &name, true)?;
            (config, run, false)
        }
    };
    eprintln!(
        "training {MODEL_NAME} ({}, {}) on {backend} into {}",
        config.preset,
        config.gradient.name(),
        run.path.display()
    );
    let job = plastic::TrainJob {
        config,
        run,
        resume,
        eval_episodes: args.run.eval_episodes.max(1),
    };
    let report = backend::run_on(backend, job)??;
    println!("{report}");
    Ok(())
}

fn train_learned_rule(args: &LearnedRuleArgs, backend: BackendChoice) -> anyhow::Result<()> {
    let kind = match args.rule_net {
        RuleNetArg::Lstm => plastic_models::RuleNetKind::Lstm,
        RuleNetArg::Mlp => plastic_models::RuleNetKind::Mlp,
    };
    let family = plastic_tasks::TaskFamily::named(&args.family)?;
    let held_out: Vec<String> = match &args.held_out {
        Some(names) => names
            .iter()
            .map(|t| t.trim().to_ascii_lowercase())
            .collect(),
        None => family.held_out().map(String::from).to_vec(),
    };
    learned_rule::same_family(family, &learned_rule::tasks(&held_out)?)?;
    let config = learned_rule::LearnedRuleRun {
        rule: plastic_models::LearnedRuleConfig::new(kind)
            .with_hidden(args.rule_hidden)
            .with_error_signal(args.error_signal)
            .with_reward_signal(args.reward_signal)
            .with_step_scale(args.step_scale),
        network: learned_rule::default_network(args.hidden.0.clone()),
        train_tasks: learned_rule::default_train_tasks(family, &held_out),
        held_out,
        inner_steps: args.inner_steps,
        truncation: args.truncation,
        loss_during: args.loss_during,
        w_max: args.w_max,
        grad_clip: args.grad_clip,
        train: plastic_zoo::config::TrainConfig {
            episodes: args.meta_steps,
            batch: args.meta_batch,
            learning_rate: args.lr,
            seed: args.seed,
            checkpoint_every: args.checkpoint_every,
        },
    };
    config.validate()?;
    let kind_name = kind.name();
    let name = args.run_name.clone().unwrap_or_else(|| match family {
        plastic_tasks::TaskFamily::Boolean => format!("{kind_name}-seed{}", args.seed),
        _ => format!("{kind_name}-{}-seed{}", family.name(), args.seed),
    });
    let run = RunDir::create(&args.out, learned_rule::MODEL_NAME, &name, false)?;
    eprintln!(
        "meta-training a {kind_name} rule on {backend} into {}",
        run.path.display()
    );
    println!(
        "{}",
        backend::run_on(backend, learned_rule::TrainJob { config, run })??
    );
    Ok(())
}

fn train_hebbian_ff(args: &HebbianFfArgs, backend: BackendChoice) -> anyhow::Result<()> {
    if args.sweep {
        if args.task.is_some() || args.hidden.is_some() || args.updates.is_some() {
            bail!("--sweep runs the seed's table of tasks, hidden layers and updates: drop --task, --hidden and --updates");
        }
        let out = args.out.join(hebbian_ff::MODEL_NAME).join(
            args.run_name
                .clone()
                .unwrap_or_else(|| format!("sweep-seed{}", args.seed)),
        );
        let job = hebbian_ff::SweepJob {
            rules: hebbian_ff::sweep_rules(args)?,
            replications: args.replications,
            seed: args.seed,
            out: out.clone(),
        };
        if job.replications == 0 {
            bail!("--replications must be at least 1");
        }
        eprintln!(
            "sweeping {} rule(s) × {} cells on {backend} into {}",
            job.rules.len(),
            hebbian_ff::SEED_TABLE.len(),
            out.display()
        );
        let rows = backend::run_on(backend, job)??;
        print!("{}", hebbian_ff::sweep_table(&rows));
        return Ok(());
    }
    let config = hebbian_ff::resolve(args)?;
    let name = args.run_name.clone().unwrap_or_else(|| {
        let hidden: Vec<String> = config.network.hidden.iter().map(usize::to_string).collect();
        let hidden = if hidden.is_empty() {
            String::new()
        } else {
            format!("-h{}", hidden.join("x"))
        };
        format!(
            "{}-{}{hidden}-seed{}",
            config.task_name(),
            plastic_models::LocalRule::name(&config.rule),
            config.seed
        )
    });
    let run = RunDir::create(&args.out, hebbian_ff::MODEL_NAME, &name, false)?;
    backend::run_on(backend, hebbian_ff::TrainJob { config, run })??;
    Ok(())
}

/// Whether any flag other than --episodes / --checkpoint-every was given with --resume.
fn changes_more_than_length(args: &PlasticRnnArgs) -> bool {
    let mut overrides = args.overrides();
    overrides.episodes = None;
    overrides.checkpoint_every = None;
    overrides != plastic_zoo::config::PlasticRnnOverrides::default()
}

fn eval(args: &EvalArgs, backend: BackendChoice) -> anyhow::Result<()> {
    if args.episodes == 0 {
        bail!("eval needs at least 1 episode");
    }
    let run = RunDir::open(&args.dir)?;
    let state: checkpoint::RunState = run.read_json(checkpoint::STATE_FILE)?;
    match state.model.as_str() {
        MODEL_NAME => {
            let report = backend::run_on(
                backend,
                plastic::EvalJob {
                    run,
                    episodes: args.episodes,
                },
            )??;
            println!("{report}");
            Ok(())
        }
        learned_rule::MODEL_NAME => {
            let job = learned_rule::EvalJob {
                run,
                tasks: args.task.clone(),
                replications: args.replications,
            };
            println!("{}", backend::run_on(backend, job)??);
            Ok(())
        }
        feedback_alignment::MODEL_NAME => {
            let job = feedback_alignment::EvalJob {
                run,
                data_dir: args.data_dir.clone(),
            };
            println!("{}", backend::run_on(backend, job)??);
            Ok(())
        }
        hebbian_ff::MODEL_NAME => {
            println!(
                "{}",
                backend::run_on(backend, hebbian_ff::EvalJob { run })??
            );
            Ok(())
        }
        other => bail!(
            "{} holds a checkpoint of unknown model '{other}'",
            args.dir.display()
        ),
    }
}

/// Every time step allocates and frees matrices of N² floats. By default glibc hands such
/// blocks back to the kernel and faults them in again at the next step, which at N = 1000
/// costs more than the arithmetic; these settings keep them in the heap for reuse.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only changes allocator tunables; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

/// `plastic-zoo … | head` closes stdout early; like other command-line tools, end quietly
/// then instead of panicking on the next print (Rust ignores SIGPIPE by default).
#[cfg(unix)]
fn die_quietly_on_closed_pipe() {
    // SAFETY: restores the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn die_quietly_on_closed_pipe() {}
