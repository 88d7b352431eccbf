//! The 16 two-input boolean functions in ±1 coding: the four input pairs and their targets.
//!
//! Function `k` (0..16) outputs +1 on input row `r` when bit `r` of `k` is set, with the rows
//! in the order (−1,−1), (−1,+1), (+1,−1), (+1,+1) (first input, second input). AND is 8,
//! XOR is 6.

use crate::TaskError;

/// The input pairs, in row order.
pub const BOOLEAN_INPUTS: [[f32; 2]; 4] = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]];

/// Names of the functions, indexed by their truth-table number. `a` is the first input.
pub const BOOLEAN_FUNCTIONS: [&str; 16] = [
    "false",
    "nor",
    "not-a-and-b",
    "not-a",
    "a-and-not-b",
    "not-b",
    "xor",
    "nand",
    "and",
    "xnor",
    "b",
    "a-implies-b",
    "a",
    "b-implies-a",
    "or",
    "true",
];

/// One two-input boolean function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BooleanFunction {
    /// The truth-table number, 0..16.
    pub table: u8,
}

impl BooleanFunction {
    /// The function of a name in [`BOOLEAN_FUNCTIONS`] (case-insensitive).
    pub fn named(name: &str) -> Result<Self, TaskError> {
        let wanted = name.trim().to_ascii_lowercase();
        BOOLEAN_FUNCTIONS
            .iter()
            .position(|known| *known == wanted)
            .map(|table| Self { table: table as u8 })
            .ok_or_else(|| {
                TaskError::InvalidConfig(format!(
                    "unknown boolean task '{name}' (known: {})",
                    BOOLEAN_FUNCTIONS.join(", ")
                ))
            })
    }

    /// The function's name (`xor`, `nand`, …).
    pub fn name(self) -> &'static str {
        BOOLEAN_FUNCTIONS[usize::from(self.table)]
    }

    /// The ±1 target of input row `row`.
    pub fn target(self, row: usize) -> f32 {
        if self.table >> row & 1 == 1 {
            1.0
        } else {
            -1.0
        }
    }

    /// The four targets, in row order.
    pub fn targets(self) -> [f32; 4] {
        [0, 1, 2, 3].map(|row| self.target(row))
    }

    /// Whether `outputs` (one per row, in row order) all have the targets' signs; an
    /// output counts as +1 only when it is strictly positive.
    pub fn solved_by(self, outputs: &[f32]) -> bool {
        outputs.len() == 4
            && outputs
                .iter()
                .zip(self.targets())
                .all(|(&y, t)| (y > 0.0) == (t > 0.0))
    }

    /// Mean squared error of `outputs` (one per row) against the targets.
    pub fn squared_error(self, outputs: &[f32]) -> f64 {
        outputs
            .iter()
            .zip(self.targets())
            .map(|(&y, t)| f64::from(y - t).powi(2))
            .sum::<f64>()
            / 4.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_and_xor_have_the_seed_truth_tables() {
        let and = BooleanFunction::named("AND").unwrap();
        assert_eq!(and.targets(), [-1.0, -1.0, -1.0, 1.0]);
        let xor = BooleanFunction::named("xor").unwrap();
        assert_eq!(xor.targets(), [-1.0, 1.0, 1.0, -1.0]);
    }

    #[test]
    fn every_name_matches_its_truth_table() {
        let a = |row: usize| BOOLEAN_INPUTS[row][0] > 0.0;
        let b = |row: usize| BOOLEAN_INPUTS[row][1] > 0.0;
        type Gate = fn(bool, bool) -> bool;
        let logic: [(&str, Gate); 16] = [
            ("false", |_, _| false),
            ("nor", |a, b| !(a || b)),
            ("not-a-and-b", |a, b| !a && b),
            ("not-a", |a, _| !a),
            ("a-and-not-b", |a, b| a && !b),
            ("not-b", |_, b| !b),
            ("xor", |a, b| a != b),
            ("nand", |a, b| !(a && b)),
            ("and", |a, b| a && b),
            ("xnor", |a, b| a == b),
            ("b", |_, b| b),
            ("a-implies-b", |a, b| !a || b),
            ("a", |a, _| a),
            ("b-implies-a", |a, b| a || !b),
            ("or", |a, b| a || b),
            ("true", |_, _| true),
        ];
        for (name, rule) in logic {
            let function = BooleanFunction::named(name).unwrap();
            assert_eq!(function.name(), name);
            for row in 0..4 {
                let expected = if rule(a(row), b(row)) { 1.0 } else { -1.0 };
                assert_eq!(function.target(row), expected, "{name}, row {row}");
            }
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_known_ones() {
        let err = BooleanFunction::named("xand").unwrap_err();
        assert!(err.to_string().contains("xnor"), "{err}");
    }
}
