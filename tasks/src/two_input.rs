//! Two-input supervised tasks that a small net learns online, one example per update, and
//! that are scored on a fixed set of probe inputs: the 16 boolean functions and a family of
//! linear maps. Each family has members kept out of meta-training by default.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::boolean::{BooleanFunction, BOOLEAN_FUNCTIONS, BOOLEAN_INPUTS};
use crate::TaskError;

/// Names of the linear maps: `linear-θ` maps `x` to `0.5·(cos θ·x₀ + sin θ·x₁)`.
pub const LINEAR_MAPS: [&str; 12] = [
    "linear-0",
    "linear-30",
    "linear-60",
    "linear-90",
    "linear-120",
    "linear-150",
    "linear-180",
    "linear-210",
    "linear-240",
    "linear-270",
    "linear-300",
    "linear-330",
];

/// Degrees between two neighbouring linear maps.
const LINEAR_STEP_DEGREES: f64 = 30.0;

/// The largest slope of a linear map's target: it stays within ±0.71 on `[−1, 1]²`, where a
/// tanh output is still nearly linear.
pub const LINEAR_GAIN: f64 = 0.5;

/// A net fits a linear map when its mean squared error on the probe grid is at most this
/// fraction of the target's variance there (R² ≥ 0.9).
pub const LINEAR_FIT_GOAL: f64 = 0.1;

/// Points per side of the probe grid on `[−1, 1]²` that linear maps are scored on.
const GRID_SIDE: usize = 5;

/// One map of [`LINEAR_MAPS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearMap {
    /// Index in [`LINEAR_MAPS`].
    pub index: u8,
}

impl LinearMap {
    /// The map's name.
    pub fn name(self) -> &'static str {
        LINEAR_MAPS[usize::from(self.index)]
    }

    /// The target's slopes along the two inputs.
    pub fn slopes(self) -> [f64; 2] {
        let angle = (f64::from(self.index) * LINEAR_STEP_DEGREES).to_radians();
        [LINEAR_GAIN * angle.cos(), LINEAR_GAIN * angle.sin()]
    }

    /// The target for `input`.
    pub fn target(self, input: [f32; 2]) -> f32 {
        let [a, b] = self.slopes();
        (a * f64::from(input[0]) + b * f64::from(input[1])) as f32
    }
}

/// The tasks of one family share their probe inputs, so a batch of nets can mix them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum TaskFamily {
    /// The 16 two-input boolean functions in ±1 coding
    Boolean,
    /// 12 maps x ↦ 0.5·(cos θ·x0 + sin θ·x1), θ = 0, 30, …, 330, named linear-θ
    Linear,
}

impl TaskFamily {
    /// Names on the command line.
    pub const NAMES: [&'static str; 2] = ["boolean", "linear"];

    /// The family called `name`, or an error listing the families.
    pub fn named(name: &str) -> Result<Self, TaskError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "boolean" => Ok(Self::Boolean),
            "linear" => Ok(Self::Linear),
            _ => Err(TaskError::InvalidConfig(format!(
                "unknown task family '{name}' (known: {})",
                Self::NAMES.join(", ")
            ))),
        }
    }

    /// The family's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::Linear => "linear",
        }
    }

    /// The names of the tasks in the family.
    pub fn members(self) -> &'static [&'static str] {
        match self {
            Self::Boolean => &BOOLEAN_FUNCTIONS,
            Self::Linear => &LINEAR_MAPS,
        }
    }

    /// The members as tasks.
    pub fn tasks(self) -> Vec<TwoInputTask> {
        self.members()
            .iter()
            .map(|name| TwoInputTask::named(name).expect("a family's members are tasks"))
            .collect()
    }

    /// Members kept out of meta-training by default: XOR and XNOR, the two functions no single
    /// threshold unit computes; and a linear map with its negation.
    pub fn held_out(self) -> [&'static str; 2] {
        match self {
            Self::Boolean => ["xor", "xnor"],
            Self::Linear => ["linear-60", "linear-240"],
        }
    }

    /// Members kept out of meta-training by default for validation (choosing learning rates,
    /// seeds, step scales), disjoint from [`Self::held_out`]: the four functions true on one
    /// input pattern or false on one; and the 30° neighbours of the held-out maps, so that no
    /// held-out map is the negation or a 30° neighbour of a map trained on.
    pub fn validation(self) -> [&'static str; 4] {
        match self {
            Self::Boolean => ["and", "or", "nand", "nor"],
            Self::Linear => ["linear-30", "linear-90", "linear-210", "linear-270"],
        }
    }

    /// The inputs every task of the family is scored on.
    pub fn probe_inputs(self) -> Vec<[f32; 2]> {
        match self {
            Self::Boolean => BOOLEAN_INPUTS.to_vec(),
            Self::Linear => {
                let coordinate = |k: usize| -1.0 + 2.0 * k as f32 / (GRID_SIDE - 1) as f32;
                (0..GRID_SIDE * GRID_SIDE)
                    .map(|k| [coordinate(k / GRID_SIDE), coordinate(k % GRID_SIDE)])
                    .collect()
            }
        }
    }
}

/// A boolean function or a linear map; written by its name in configuration files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TwoInputTask {
    /// One of the 16 boolean functions of two inputs.
    Boolean(BooleanFunction),
    /// A linear map of two inputs.
    Linear(LinearMap),
}

impl TryFrom<String> for TwoInputTask {
    type Error = TaskError;
    fn try_from(name: String) -> Result<Self, TaskError> {
        Self::named(&name)
    }
}

impl From<TwoInputTask> for String {
    fn from(task: TwoInputTask) -> String {
        task.name().to_string()
    }
}

impl TwoInputTask {
    /// Whether a net that learned `self` has learned almost `other` too: for linear maps, the
    /// same map, its negation or a 30° neighbour; for boolean functions, the same function or
    /// its negation.
    pub fn is_close_to(self, other: TwoInputTask) -> bool {
        match (self, other) {
            (Self::Linear(a), Self::Linear(b)) => {
                let maps = LINEAR_MAPS.len() as i32;
                let apart = (i32::from(a.index) - i32::from(b.index)).rem_euclid(maps);
                let apart = apart.min(maps - apart);
                [0, 1, maps / 2 - 1, maps / 2].contains(&apart)
            }
            (Self::Boolean(a), Self::Boolean(b)) => a.table == b.table || a.table == 15 - b.table,
            _ => false,
        }
    }

    /// Every task of every family, boolean functions first.
    pub fn all() -> Vec<TwoInputTask> {
        [TaskFamily::Boolean, TaskFamily::Linear]
            .into_iter()
            .flat_map(|family| family.tasks())
            .collect()
    }

    /// The task of a name in [`BOOLEAN_FUNCTIONS`] or [`LINEAR_MAPS`] (case-insensitive).
    pub fn named(name: &str) -> Result<Self, TaskError> {
        let wanted = name.trim().to_ascii_lowercase();
        if let Some(index) = LINEAR_MAPS.iter().position(|known| *known == wanted) {
            return Ok(Self::Linear(LinearMap { index: index as u8 }));
        }
        BooleanFunction::named(&wanted)
            .map(Self::Boolean)
            .map_err(|_| {
                TaskError::InvalidConfig(format!(
                    "unknown task '{name}' (boolean: {}; linear: {})",
                    BOOLEAN_FUNCTIONS.join(", "),
                    LINEAR_MAPS.join(", ")
                ))
            })
    }

    /// The task's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Boolean(function) => function.name(),
            Self::Linear(map) => map.name(),
        }
    }

    /// The family the task belongs to.
    pub fn family(self) -> TaskFamily {
        match self {
            Self::Boolean(_) => TaskFamily::Boolean,
            Self::Linear(_) => TaskFamily::Linear,
        }
    }

    /// One training example: a random row of the truth table, or a point uniform on `[−1, 1]²`.
    pub fn draw(self, rng: &mut impl Rng) -> ([f32; 2], f32) {
        match self {
            Self::Boolean(function) => {
                let row = rng.random_range(0..4);
                (BOOLEAN_INPUTS[row], function.target(row))
            }
            Self::Linear(map) => {
                let input = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
                (input, map.target(input))
            }
        }
    }

    /// The targets at the family's probe inputs, in order.
    pub fn probe_targets(self) -> Vec<f32> {
        match self {
            Self::Boolean(function) => function.targets().to_vec(),
            Self::Linear(map) => TaskFamily::Linear
                .probe_inputs()
                .into_iter()
                .map(|input| map.target(input))
                .collect(),
        }
    }

    /// Mean squared error of `outputs` (one per probe input) against the targets.
    pub fn squared_error(self, outputs: &[f32]) -> f64 {
        let targets = self.probe_targets();
        outputs
            .iter()
            .zip(&targets)
            .map(|(&y, &t)| f64::from(y - t).powi(2))
            .sum::<f64>()
            / targets.len() as f64
    }

    /// Whether `outputs` (one per probe input) solve the task: every boolean output with the
    /// target's sign; a linear map fitted to [`LINEAR_FIT_GOAL`] of its variance.
    pub fn solved_by(self, outputs: &[f32]) -> bool {
        match self {
            Self::Boolean(function) => function.solved_by(outputs),
            Self::Linear(_) => {
                let targets = self.probe_targets();
                let mean =
                    targets.iter().map(|&t| f64::from(t)).sum::<f64>() / targets.len() as f64;
                let variance = targets
                    .iter()
                    .map(|&t| (f64::from(t) - mean).powi(2))
                    .sum::<f64>()
                    / targets.len() as f64;
                outputs.len() == targets.len()
                    && self.squared_error(outputs) <= LINEAR_FIT_GOAL * variance
            }
        }
    }
}

/// One training example for each entry of `tasks`: the inputs (two per entry) and the
/// targets (one per entry), in order.
pub fn draw_examples(tasks: &[TwoInputTask], rng: &mut impl Rng) -> (Vec<f32>, Vec<f32>) {
    let mut inputs = Vec::with_capacity(2 * tasks.len());
    let mut targets = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (input, target) = task.draw(rng);
        inputs.extend(input);
        targets.push(target);
    }
    (inputs, targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn linear_maps_have_their_angles() {
        let map = |name| match TwoInputTask::named(name).unwrap() {
            TwoInputTask::Linear(map) => map,
            other => panic!("{name} is {other:?}"),
        };
        assert_eq!(map("linear-0").target([1.0, -1.0]), 0.5);
        assert!((map("linear-90").target([1.0, -1.0]) + 0.5).abs() < 1e-6);
        let [a, b] = map("linear-60").slopes();
        assert!((a - 0.25).abs() < 1e-12 && (b - 0.75f64.sqrt() / 2.0).abs() < 1e-12);
        for (index, name) in LINEAR_MAPS.iter().enumerate() {
            assert_eq!(map(name).index as usize, index);
            assert_eq!(map(name).name(), *name);
        }
    }

    #[test]
    fn a_linear_map_is_solved_by_itself_and_not_by_its_negation() {
        let task = TwoInputTask::named("linear-240").unwrap();
        let exact = task.probe_targets();
        assert_eq!(exact.len(), 25);
        assert!(task.solved_by(&exact));
        // 0.8 × the target leaves 4 % of the variance unexplained; 0.6 × leaves 16 %.
        let scaled = |k: f32| exact.iter().map(|t| k * t).collect::<Vec<_>>();
        assert!(task.solved_by(&scaled(0.8)));
        assert!(!task.solved_by(&scaled(0.6)));
        assert!(!task.solved_by(&scaled(-1.0)));
        assert!(!task.solved_by(&exact[..24]));
    }

    #[test]
    fn boolean_examples_draw_as_before() {
        // The boolean draw takes one row per task, in order, so runs keep their examples.
        let tasks = [TwoInputTask::named("and").unwrap(); 3];
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (inputs, targets) = draw_examples(&tasks, &mut rng);
        let mut again = ChaCha8Rng::seed_from_u64(5);
        let rows: Vec<usize> = (0..3).map(|_| again.random_range(0..4)).collect();
        let and = BooleanFunction::named("and").unwrap();
        assert_eq!(
            inputs,
            rows.iter()
                .flat_map(|&r| BOOLEAN_INPUTS[r])
                .collect::<Vec<_>>()
        );
        assert_eq!(
            targets,
            rows.iter().map(|&r| and.target(r)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_default_splits_are_disjoint_and_no_held_out_map_neighbours_a_trained_one() {
        let task = |name: &str| TwoInputTask::named(name).unwrap();
        assert!(task("linear-60").is_close_to(task("linear-90")));
        assert!(task("linear-60").is_close_to(task("linear-240")));
        assert!(task("linear-0").is_close_to(task("linear-330")));
        assert!(!task("linear-60").is_close_to(task("linear-120")));
        assert!(task("xor").is_close_to(task("xnor")));
        assert!(!task("xor").is_close_to(task("and")));
        for family in [TaskFamily::Boolean, TaskFamily::Linear] {
            let held_out = family.held_out().map(task);
            let validation = family.validation().map(task);
            assert!(held_out.iter().all(|t| !validation.contains(t)));
            let trained = family
                .tasks()
                .into_iter()
                .filter(|t| !held_out.contains(t) && !validation.contains(t));
            for trained in trained {
                for held in held_out {
                    assert!(
                        !held.is_close_to(trained),
                        "{} is close to the trained {}",
                        held.name(),
                        trained.name()
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_tasks_and_families_name_the_known_ones() {
        let err = TwoInputTask::named("linear-45").unwrap_err().to_string();
        assert!(err.contains("linear-30") && err.contains("xnor"), "{err}");
        let err = TaskFamily::named("parity").unwrap_err().to_string();
        assert!(err.contains("boolean, linear"), "{err}");
    }
}
