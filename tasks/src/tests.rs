use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::pattern::{sign_error, sum_abs_error};

fn batch(config: &PatternTaskConfig, n: usize, seed: u64) -> PatternBatch {
    generate_batch(config, n, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap()
}

fn row(b: &PatternBatch, episode: usize, step: usize) -> &[f32] {
    let start = (episode * b.steps + step) * b.neurons;
    &b.inputs[start..start + b.neurons]
}

#[test]
fn presets_have_the_published_lengths() {
    assert_eq!(pattern_preset("bohp").unwrap().steps(), 66);
    assert_eq!(pattern_preset("dp-simple").unwrap().steps(), 106);
    assert_eq!(pattern_preset("dp-50bit").unwrap().steps(), 11);
    assert!(pattern_preset("nope").is_none());
}

#[test]
fn zero_sum_and_orthogonal_patterns() {
    let config = pattern_preset("bohp").unwrap();
    let b = batch(&config, 20, 1);
    let n = config.neurons;
    for episode in b.patterns.chunks(config.patterns * n) {
        let pats: Vec<&[f32]> = episode.chunks(n).collect();
        for (i, p) in pats.iter().enumerate() {
            assert!(p.iter().all(|&x| x == 1.0 || x == -1.0));
            assert_eq!(p.iter().sum::<f32>(), 0.0, "pattern not zero-sum");
            for q in &pats[i + 1..] {
                let dot: f32 = p.iter().zip(q.iter()).map(|(a, b)| a * b).sum();
                assert_eq!(dot, 0.0, "patterns not orthogonal");
            }
        }
    }
}

#[test]
fn unconstrained_patterns_are_not_always_zero_sum() {
    let mut config = pattern_preset("dp-50bit").unwrap();
    config.neurons = 10;
    let b = batch(&config, 50, 2);
    assert!(b.patterns.chunks(10).any(|p| p.iter().sum::<f32>() != 0.0));
}

#[test]
fn presentation_and_cue_timing() {
    let mut config = pattern_preset("bohp").unwrap();
    config.shuffle_cycles = false;
    let b = batch(&config, 3, 3);
    let n = config.neurons;
    let scale = config.input_scale as f32;
    for e in 0..b.batch {
        let pats = &b.patterns[e * config.patterns * n..(e + 1) * config.patterns * n];
        let mut step = 0;
        for _ in 0..config.cycles {
            for k in 0..config.patterns {
                let expected: Vec<f32> =
                    pats[k * n..(k + 1) * n].iter().map(|x| x * scale).collect();
                for _ in 0..config.presentation_steps {
                    assert_eq!(row(&b, e, step), expected.as_slice(), "step {step}");
                    step += 1;
                }
                for _ in 0..config.zero_steps {
                    assert!(
                        row(&b, e, step).iter().all(|&x| x == 0.0),
                        "step {step} not silent"
                    );
                    step += 1;
                }
            }
        }
        let target = &b.targets[e * n..(e + 1) * n];
        let chosen = b.cue_pattern[e];
        assert_eq!(target, &pats[chosen * n..(chosen + 1) * n]);
        let cue = row(&b, e, step).to_vec();
        for s in step..b.steps {
            assert_eq!(row(&b, e, s), cue.as_slice());
        }
        for (c, t) in cue.iter().zip(target) {
            assert!(
                *c == 0.0 || *c == t * scale,
                "cue bit disagrees with its pattern"
            );
        }
        assert_eq!(b.steps - step, config.cue_steps);
    }
}

#[test]
fn every_cycle_shows_every_pattern_once_in_an_order_of_its_own() {
    let config = pattern_preset("dp-simple").unwrap();
    let b = batch(&config, 20, 5);
    let (n, p) = (config.neurons, config.patterns);
    let cycle_steps = p * (config.presentation_steps + config.zero_steps);
    let scale = config.input_scale as f32;
    let mut orders = std::collections::BTreeSet::new();
    for e in 0..b.batch {
        let pats = &b.patterns[e * p * n..(e + 1) * p * n];
        for cycle in 0..config.cycles {
            let order: Vec<usize> = (0..p)
                .map(|slot| {
                    let step = cycle * cycle_steps
                        + slot * (config.presentation_steps + config.zero_steps);
                    let shown: Vec<f32> = row(&b, e, step).iter().map(|x| x / scale).collect();
                    (0..p)
                        .find(|&k| pats[k * n..(k + 1) * n] == shown[..])
                        .expect("every presentation is one of the episode's patterns")
                })
                .collect();
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(
                sorted,
                (0..p).collect::<Vec<_>>(),
                "a cycle shows each pattern once"
            );
            orders.insert(order);
        }
    }
    // 40 cycles of 5 patterns: the order changes (120 orders are possible).
    assert!(orders.len() > 10, "only {} distinct orders", orders.len());
}

#[test]
fn the_degraded_mask_marks_exactly_the_zeroed_cue_bits() {
    let config = pattern_preset("bohp").unwrap();
    let b = batch(&config, 6, 9);
    let n = config.neurons;
    for e in 0..b.batch {
        let cue = row(&b, e, b.steps - 1);
        let mask = &b.degraded[e * n..(e + 1) * n];
        for (zeroed, shown) in mask.iter().zip(cue) {
            assert_eq!(*zeroed == 1.0, *shown == 0.0);
        }
    }
    // Outputs equal to the cue itself: right on the shown bits, wrong (0) on the zeroed ones.
    let cue: Vec<f32> = (0..b.batch)
        .flat_map(|e| row(&b, e, b.steps - 1).to_vec())
        .collect();
    assert_eq!(
        crate::pattern::degraded_sign_error(&cue, &b.targets, &b.degraded),
        1.0
    );
    assert_eq!(crate::pattern::sign_error(&cue, &b.targets), 0.5);
    assert_eq!(
        crate::pattern::degraded_sign_error(&b.targets, &b.targets, &b.degraded),
        0.0
    );
}

#[test]
fn exactly_the_requested_fraction_is_degraded() {
    for (fraction, neurons, expected) in [
        (0.5, 28, 14),
        (0.25, 1000, 250),
        (0.0, 10, 0),
        (1.0, 12, 12),
        (0.3, 10, 3),
    ] {
        let mut config = pattern_preset("bohp").unwrap();
        config.neurons = neurons;
        config.orthogonal = false;
        config.degraded_fraction = fraction;
        let b = batch(&config, 10, 4);
        for e in 0..b.batch {
            let zeros = row(&b, e, b.steps - 1)
                .iter()
                .filter(|&&x| x == 0.0)
                .count();
            assert_eq!(zeros, expected, "fraction {fraction} of {neurons}");
        }
    }
}

#[test]
fn same_seed_same_batch_other_seed_other_batch() {
    let config = pattern_preset("dp-50bit").unwrap();
    assert_eq!(batch(&config, 4, 7), batch(&config, 4, 7));
    assert_ne!(batch(&config, 4, 7).inputs, batch(&config, 4, 8).inputs);
}

#[test]
fn invalid_configs_are_refused() {
    let good = pattern_preset("bohp").unwrap();
    let cases = [
        PatternTaskConfig {
            neurons: 0,
            ..good.clone()
        },
        PatternTaskConfig {
            neurons: 27,
            ..good.clone()
        },
        PatternTaskConfig {
            neurons: 30,
            ..good.clone()
        },
        PatternTaskConfig {
            degraded_fraction: 1.5,
            ..good.clone()
        },
        PatternTaskConfig {
            cue_steps: 0,
            ..good.clone()
        },
        PatternTaskConfig {
            input_scale: f64::NAN,
            ..good.clone()
        },
    ];
    for config in cases {
        assert!(
            matches!(config.validate(), Err(TaskError::InvalidConfig(_))),
            "{config:?}"
        );
    }
}

#[test]
fn scores() {
    let targets = [1.0, -1.0, 1.0, -1.0];
    let outputs = [0.5, -1.0, -0.5, 0.0];
    assert_eq!(
        sum_abs_error(&outputs, &targets, 2),
        (0.5 + 0.0 + 1.5 + 1.0) / 2.0
    );
    assert_eq!(sign_error(&outputs, &targets), 0.5);
}
