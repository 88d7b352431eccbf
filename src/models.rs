//! The registry of models and presets that `list` prints.

use plastic_tasks::PATTERN_PRESETS;

/// Models that `train` knows, with a one-line description.
pub const MODELS: [(&str, &str); 4] = [
    (
        "plastic-rnn",
        "recurrent net with Hebbian plastic connections (learned α, η), trained by BPTT",
    ),
    (
        "hebbian-ff",
        "feed-forward net trained by local rules: supervised, bounded, unsupervised, reward-modulated Hebbian, Oja, delta",
    ),
    (
        "learned-rule",
        "a synaptic rule that is itself an LSTM or MLP, meta-trained through the inner learning loop",
    ),
    (
        "feedback-alignment",
        "MLP trained by backprop, feedback alignment or direct feedback alignment (product task, Fashion-MNIST)",
    ),
];

/// What `list` prints: one line per model, then one per preset.
pub fn list_lines() -> Vec<String> {
    let mut lines: Vec<String> = MODELS
        .iter()
        .map(|(name, about)| format!("model   {name:<14} {about}"))
        .collect();
    for preset in PATTERN_PRESETS {
        let task = plastic_tasks::pattern_preset(preset).expect("listed presets exist");
        lines.push(format!(
            "preset  {preset:<14} plastic-rnn: {} neurons, {} patterns, {} steps",
            task.neurons,
            task.patterns,
            task.steps()
        ));
    }
    lines
}
