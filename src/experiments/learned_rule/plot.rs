//! The learned rule's weight change drawn against pre- and postsynaptic activity.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use plastic_models::LearnedRule;

use crate::util::host_values;

/// Side of the grid the rule's Δw is drawn on.
const FIELD_SIDE: usize = 41;

/// Draws the rule's first weight change (zero memory, weight 0) against presynaptic and
/// postsynaptic activity in [−1, 1], one panel per example error −1, 0, +1 (the reward, when
/// read, is then −error²; a rule reading the reward alone gets panels at reward −1, −0.25, 0;
/// one reading neither, one panel). A rule told its layer is drawn at the output layer.
pub fn write_rule_plot<B: Backend>(
    rule: &LearnedRule<B>,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let device = rule.readout.weight.device();
    let (error_signal, reward_signal) = (rule.config.error_signal, rule.config.reward_signal);
    let errors: &[f32] = match (error_signal, reward_signal) {
        (true, _) => &[-1.0, 0.0, 1.0],
        (false, true) => &[-1.0, -0.5, 0.0],
        (false, false) => &[0.0],
    };
    let grid = |k: usize| -1.0 + 2.0 * (k as f32 + 0.5) / FIELD_SIDE as f32;
    let mut panels = Vec::new();
    for &error in errors {
        let reward = -error * error;
        let mut features = Vec::new();
        for row in 0..FIELD_SIDE {
            for col in 0..FIELD_SIDE {
                features.extend([grid(col), grid(row), 0.0]);
                if error_signal {
                    features.push(error);
                }
                if reward_signal {
                    features.push(reward);
                }
                if rule.config.layer_signal {
                    features.push(1.0);
                }
            }
        }
        let shape = [FIELD_SIDE * FIELD_SIDE, rule.config.features()];
        let features = Tensor::from_data(TensorData::new(features, shape), &device);
        let (change, _) = rule.changes(features, None);
        let values = host_values(change)?;
        let title = match (error_signal, reward_signal) {
            (true, _) => format!("Δw at error {error:+}"),
            (false, true) => format!("Δw at reward {reward}"),
            (false, false) => "Δw".to_string(),
        };
        panels.push((title, values));
    }
    crate::plot::fields(
        &panels,
        FIELD_SIDE,
        "presynaptic activity",
        "postsynaptic activity",
        path,
    )
}
