//! The hand-written gradient engines of the plastic RNN equal autodiff in f64: RTRL on both
//! kernels, across windows, with Oja's rule, shared α and a clamped trace, and the adjoint on
//! every configuration.

use super::*;

/// The RTRL gradient against the autodiff gradient of the same parameters and episodes.
fn check_rtrl(config: PlasticRnnConfig, batch: usize, steps: usize, seed: u64) {
    check_rtrl_on(&problem_of(config, batch, steps, seed));
}

/// The RTRL gradient, on both kernels, against autodiff.
fn check_rtrl_on(p: &Problem) {
    for kernels in [Kernels::Host, Kernels::Tensor] {
        check_engine_on(
            p,
            &format!("RTRL ({})", kernels.name()),
            |m, inputs, targets| m.rtrl_gradients(inputs, targets, kernels),
        );
    }
}

/// A hand-written gradient of `p`'s loss against autodiff's.
fn check_engine_on(
    p: &Problem,
    engine: &str,
    gradients: impl Fn(
        &PlasticRnn<Inner>,
        Tensor<Inner, 3>,
        Tensor<Inner, 2>,
    ) -> PlasticGradients<Inner>,
) {
    let m = model::<Diff>(p, &p.w, &p.alpha, p.eta);
    let grads = loss(p, &m).backward();
    let (inputs, targets) = episode_tensors::<Inner>(p);
    let rtrl = gradients(&model::<Inner>(p, &p.w, &p.alpha, p.eta), inputs, targets);
    let label = format!("{engine} {:?}", p.config);
    let bptt_loss: f64 = loss(p, &model::<Inner>(p, &p.w, &p.alpha, p.eta))
        .into_scalar()
        .elem();
    let engine_loss = rtrl.loss.into_scalar().elem::<f64>();
    assert!(
        (engine_loss - bptt_loss).abs() <= 1e-12 * bptt_loss.abs().max(1.0),
        "{label}: loss {engine_loss} vs {bptt_loss}"
    );
    let mut pairs = vec![
        ("W", to_vec(rtrl.w), to_vec(m.w.grad(&grads).unwrap())),
        (
            "alpha",
            to_vec(rtrl.alpha),
            to_vec(m.alpha.grad(&grads).unwrap()),
        ),
    ];
    match (rtrl.eta, m.eta.grad(&grads)) {
        (Some(forward), Some(backward)) => pairs.push(("eta", to_vec(forward), to_vec(backward))),
        (None, None) => assert!(!p.config.learn_eta),
        _ => panic!("{label}: RTRL and autodiff disagree on whether eta has a gradient"),
    }
    for (name, forward, backward) in pairs {
        let difference = relative_difference(&forward, &backward);
        assert!(
            difference <= 1e-9,
            "{label}: dL/d{name} differs by {difference:e} (relative)"
        );
        assert!(
            backward.iter().any(|g| g.abs() > 1e-6),
            "{label}: dL/d{name} should not vanish in this problem"
        );
    }
}

fn small(rule: HebbRule) -> PlasticRnnConfig {
    PlasticRnnConfig::new(5).with_rule(rule)
}

/// The configurations both hand-written engines are held to autodiff on:
/// (configuration, batch, steps, seed).
fn engine_cases() -> Vec<(PlasticRnnConfig, usize, usize, u64)> {
    vec![
        (small(HebbRule::Hebb), 2, 7, 1),
        (
            small(HebbRule::Hebb)
                .with_bias_neuron(true)
                .with_zero_alpha_diagonal(true),
            2,
            7,
            2,
        ),
        (small(HebbRule::Oja).with_bias_neuron(true), 2, 7, 3),
        (
            small(HebbRule::Hebb)
                .with_alpha_per_connection(false)
                .with_learn_eta(false),
            3,
            9,
            4,
        ),
        (
            small(HebbRule::Oja).with_alpha_per_connection(false),
            3,
            9,
            4,
        ),
    ]
}

#[test]
fn rtrl_equals_autodiff_on_every_configuration() {
    for (config, batch, steps, seed) in engine_cases() {
        check_rtrl(config, batch, steps, seed);
    }
}

#[test]
fn rtrl_equals_autodiff_over_a_long_episode() {
    check_rtrl(PlasticRnnConfig::new(9).with_bias_neuron(true), 1, 40, 5);
}

#[test]
fn rtrl_equals_autodiff_across_windows_with_oja_and_shared_alpha() {
    // Several windows of both kernels, the last one partial; per-neuron (Oja) retention.
    let steps = 2 * WINDOW_STEPS.max(HOST_WINDOW_STEPS) + 3;
    let config = PlasticRnnConfig::new(6)
        .with_rule(HebbRule::Oja)
        .with_bias_neuron(true)
        .with_zero_alpha_diagonal(true);
    check_rtrl(config.clone(), 2, steps, 7);
    check_rtrl(config.with_alpha_per_connection(false), 2, steps, 8);
}

#[test]
fn rtrl_equals_autodiff_with_a_clamped_trace() {
    // η = 1.5 lets the plain Hebbian trace overshoot ±1, so the clamp acts.
    let with_eta = |config: PlasticRnnConfig| {
        let quiet_steps = WINDOW_STEPS + 2;
        let mut p = problem_of(config, 2, quiet_steps + 10, 6);
        p.eta = 1.5;
        // Weak inputs first, so that the trace stays inside ±1 for a while.
        let neurons = p.config.neurons;
        for (index, input) in p.inputs.iter_mut().enumerate() {
            if (index / neurons) % p.steps < quiet_steps {
                *input *= 0.05;
            }
        }
        p
    };
    let clamped = with_eta(small(HebbRule::Hebb).with_clamp_trace(true));
    // RTRL's windows end at a step where the clamp acts and otherwise run full length:
    // this episode has both.
    let acts = clamp_acts(&clamped);
    assert!(
        acts.iter().any(|&act| act),
        "the clamp should act: {acts:?}"
    );
    let longest_free_run = acts.split(|&act| act).map(<[bool]>::len).max().unwrap_or(0);
    assert!(
        longest_free_run >= WINDOW_STEPS,
        "a clamp-free stretch should fill a window: {acts:?}"
    );
    check_rtrl_on(&clamped);
    let free = with_eta(small(HebbRule::Hebb));
    let value = |p: &Problem| -> f64 {
        loss::<Inner>(p, &model::<Inner>(p, &p.w, &p.alpha, p.eta))
            .into_scalar()
            .elem()
    };
    assert_ne!(value(&clamped), value(&free), "the clamp should have acted");
}

/// For each step of the first episode, whether the clamp cut a trace entry.
fn clamp_acts(p: &Problem) -> Vec<bool> {
    let m = model::<Inner>(p, &p.w, &p.alpha, p.eta);
    let (inputs, _) = episode_tensors::<Inner>(p);
    let mut state = m.initial_state(p.batch);
    (0..p.steps)
        .map(|t| {
            let input = inputs
                .clone()
                .slice([0..p.batch, t..t + 1])
                .squeeze_dim::<2>(1);
            state = m.step(state.clone(), input);
            let largest: f64 = state.hebb_trace.clone().abs().max().into_scalar().elem();
            largest >= 1.0
        })
        .collect()
}

/// The adjoint gradient, on both kernels, against autodiff.
fn check_adjoint_on(p: &Problem) {
    for kernels in [Kernels::Host, Kernels::Tensor] {
        check_engine_on(p, kernels.name(), |m, inputs, targets| {
            m.adjoint_gradients(inputs, targets, kernels)
        });
    }
}

#[test]
fn adjoint_equals_autodiff_on_every_configuration() {
    for (config, batch, steps, seed) in engine_cases() {
        check_adjoint_on(&problem_of(config, batch, steps, seed));
    }
}

#[test]
fn adjoint_equals_rtrl() {
    let p = problem_of(small(HebbRule::Oja).with_bias_neuron(true), 2, 12, 9);
    let (inputs, targets) = episode_tensors::<Inner>(&p);
    let m = model::<Inner>(&p, &p.w, &p.alpha, p.eta);
    let rtrl = m.rtrl_gradients(inputs.clone(), targets.clone(), Kernels::Host);
    let adjoint = m.adjoint_gradients(inputs, targets, Kernels::Host);
    for (name, forward, backward) in [
        ("W", rtrl.w, adjoint.w),
        ("alpha", rtrl.alpha, adjoint.alpha),
        (
            "eta",
            rtrl.eta.unwrap().unsqueeze_dim(0),
            adjoint.eta.unwrap().unsqueeze_dim(0),
        ),
    ] {
        let difference = relative_difference(&to_vec(forward), &to_vec(backward));
        assert!(
            difference <= 1e-9,
            "dL/d{name}: RTRL and the adjoint differ by {difference:e}"
        );
    }
}

#[test]
fn adjoint_stays_exact_over_a_long_episode_with_a_fast_trace() {
    // At η = 0.1 each rebuild step amplifies an error by 1/0.9: over 300 steps without
    // anchors that is 10¹⁴, enough to swamp f64. The anchors bound it.
    for rule in [HebbRule::Hebb, HebbRule::Oja] {
        let mut p = problem_of(
            PlasticRnnConfig::new(6)
                .with_rule(rule)
                .with_bias_neuron(true),
            1,
            300,
            10,
        );
        p.eta = 0.1;
        for input in &mut p.inputs {
            *input *= 0.3;
        }
        assert!(
            anchor_interval(p.eta) < 300 / 10,
            "several anchors in this episode"
        );
        check_adjoint_on(&p);
    }
}

#[test]
fn adjoint_equals_autodiff_with_a_clamped_trace() {
    let config = small(HebbRule::Hebb).with_clamp_trace(true);
    let mut p = problem_of(config, 2, 30, 6);
    p.eta = 1.5;
    let acts = clamp_acts(&p);
    assert!(
        acts.iter().any(|&act| act) && !acts.iter().all(|&act| act),
        "{acts:?}"
    );
    check_adjoint_on(&p);
    let mut p = problem_of(small(HebbRule::Oja).with_clamp_trace(true), 2, 30, 11);
    p.eta = 0.6;
    for input in &mut p.inputs {
        *input *= 3.0;
    }
    check_adjoint_on(&p);
}
