//! A sweep's cells as a cluster's own job: a SLURM job array, a GNU parallel job list, or a
//! Kubernetes Indexed Job. Every task runs one cell by its index (`--cell env` reads the
//! scheduler's variable); the scheduler places them.

use std::path::Path;

use anyhow::{bail, Context};

use super::engine::PROCESS_OVERHEAD;
use super::{Sweep, LOGS_DIR};
use crate::backend::BackendChoice;

/// The schedulers a sweep can be written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scheduler {
    /// An `sbatch` script: a job array with one task per cell
    Slurm,
    /// A GNU parallel job list: one command per line
    Parallel,
    /// A Kubernetes Indexed Job manifest
    K8s,
}

/// What the emitted job asks of the cluster.
#[derive(Debug, Clone)]
pub struct EmitOptions {
    pub backend: Option<BackendChoice>,
    /// CPUs per cell.
    pub cpus: usize,
    /// Wall-time limit per cell, as SLURM writes it (`1:00:00`, `2-00:00:00`).
    pub time: String,
    /// Cells running at once (`None`: as many as the cluster places).
    pub limit: Option<usize>,
    /// SLURM partition.
    pub partition: Option<String>,
    /// Kubernetes: the container image that holds `plastic-zoo`.
    pub image: String,
    /// Kubernetes: the persistent volume claim mounted as the working directory.
    pub claim: String,
    pub max_memory: Option<u64>,
}

/// The job for `scheduler`, as text for standard output.
pub fn emit(sweep: &Sweep, scheduler: Scheduler, options: &EmitOptions) -> anyhow::Result<String> {
    if options.cpus == 0 {
        bail!("--cpus takes at least 1");
    }
    if options.limit == Some(0) {
        bail!("--limit takes at least 1");
    }
    sweep.write_record()?;
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let exe = std::env::current_exe().context("cannot find the plastic-zoo executable")?;
    let memory_mib = (sweep.peak_memory() + PROCESS_OVERHEAD).div_ceil(1 << 20);
    let mut cell_args = String::new();
    if let Some(backend) = options.backend {
        cell_args.push_str(&format!(" --backend {}", backend.name()));
    }
    let tail = match options.max_memory {
        Some(bytes) => format!(" --max-memory {bytes}"),
        None => String::new(),
    };
    let n = sweep.cells.len();
    let stem = job_name(&sweep.path);
    Ok(match scheduler {
        Scheduler::Slurm => {
            let array = match options.limit {
                Some(limit) => format!("0-{}%{limit}", n - 1),
                None => format!("0-{}", n - 1),
            };
            let logs = std::path::absolute(sweep.plan.out.join(LOGS_DIR))?;
            let partition = options
                .partition
                .as_ref()
                .map(|p| format!("#SBATCH --partition={p}\n"))
                .unwrap_or_default();
            format!(
                "#!/bin/bash\n\
                 # {n} cells of {model} from {plan}: submit with `sbatch`; a task that is\n\
                 # pre-empted, requeued or resubmitted resumes its cell from its last checkpoint.\n\
                 # Collect with: plastic-zoo collect {out}\n\
                 #SBATCH --job-name={stem}\n\
                 #SBATCH --array={array}\n\
                 #SBATCH --cpus-per-task={cpus}\n\
                 #SBATCH --mem={memory_mib}M\n\
                 #SBATCH --time={time}\n\
                 #SBATCH --output={logs}/slurm-%A_%a.out\n\
                 #SBATCH --open-mode=append\n\
                 #SBATCH --requeue\n\
                 {partition}\
                 cd {cwd}\n\
                 exec {exe}{cell_args} sweep {plan} --cell env{tail}\n",
                model = sweep.plan.model,
                plan = quote(&sweep.path),
                out = quote(&std::path::absolute(&sweep.plan.out)?),
                cpus = options.cpus,
                time = options.time,
                logs = logs.display(),
                cwd = quote(&cwd),
                exe = quote(&exe),
            )
        }
        Scheduler::Parallel => {
            let mut lines = String::new();
            for cell in &sweep.cells {
                let log = std::path::absolute(
                    sweep
                        .plan
                        .out
                        .join(LOGS_DIR)
                        .join(format!("{}-{}.log", cell.index, cell.name)),
                )?;
                lines.push_str(&format!(
                    "cd {} && RAYON_NUM_THREADS={} {}{cell_args} sweep {} --cell {}{tail} >> {} 2>&1\n",
                    quote(&cwd),
                    options.cpus,
                    quote(&exe),
                    quote(&sweep.path),
                    cell.index,
                    quote(&log)
                ));
            }
            lines
        }
        Scheduler::K8s => {
            let plan = sweep
                .path
                .strip_prefix(&cwd)
                .unwrap_or(&sweep.path)
                .display()
                .to_string();
            let mut command = vec!["plastic-zoo".to_string()];
            if let Some(backend) = options.backend {
                command.extend(["--backend".to_string(), backend.name().to_string()]);
            }
            command.extend(["sweep".into(), plan, "--cell".into(), "env".into()]);
            if let Some(bytes) = options.max_memory {
                command.extend(["--max-memory".into(), bytes.to_string()]);
            }
            let command: Vec<String> = command.iter().map(|a| format!("{a:?}")).collect();
            format!(
                "# {n} cells of {model}: kubectl apply -f this file; each pod runs one cell by its\n\
                 # completion index, in the volume {claim} (which holds the plan and the sweep's\n\
                 # directory). Collect with: plastic-zoo collect {out}\n\
                 apiVersion: batch/v1\n\
                 kind: Job\n\
                 metadata:\n  name: {stem}\n\
                 spec:\n  completionMode: Indexed\n  completions: {n}\n  parallelism: {parallel}\n  backoffLimitPerIndex: 3\n\
                 \x20 template:\n    spec:\n      restartPolicy: Never\n      containers:\n\
                 \x20       - name: cell\n          image: {image}\n          workingDir: /work\n\
                 \x20         command: [{command}]\n\
                 \x20         env:\n            - name: RAYON_NUM_THREADS\n              value: \"{cpus}\"\n\
                 \x20         resources:\n            requests:\n              cpu: \"{cpus}\"\n              memory: {memory_mib}Mi\n            limits:\n              memory: {memory_mib}Mi\n\
                 \x20         volumeMounts:\n            - name: work\n              mountPath: /work\n\
                 \x20     volumes:\n        - name: work\n          persistentVolumeClaim:\n            claimName: {claim}\n",
                model = sweep.plan.model,
                claim = options.claim,
                out = sweep.plan.out.display(),
                parallel = options.limit.unwrap_or(n).min(n),
                image = options.image,
                command = command.join(", "),
                cpus = options.cpus,
            )
        }
    })
}

/// A job name schedulers accept: the plan file's stem, lower case, letters, digits and `-`.
fn job_name(plan: &Path) -> String {
    let stem = plan
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("sweep")
        .to_ascii_lowercase();
    let cleaned: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("pz-{}", cleaned.trim_matches('-'))
}

/// A path as one shell word.
fn quote(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=,".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
