use burn::backend::NdArray;
use burn::tensor::{Tensor, Distribution};
use plastic_models::PlasticRnnConfig;
#[test]
fn speed() {
    type B = NdArray<f32>;
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20); libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30); libc::mallopt(libc::M_TOP_PAD, 64 << 20); }
    let device = Default::default();
    for neurons in [28usize] {
        let cfg = PlasticRnnConfig::new(neurons).with_bias_neuron(true).with_learn_eta(false).with_zero_alpha_diagonal(true);
        let m = cfg.init::<B>(0, &device);
        let inputs = Tensor::<B,3>::random([1, 66, neurons], Distribution::Normal(0.0, 1.0), &device);
        let targets = Tensor::<B,2>::random([1, neurons], Distribution::Normal(0.0, 1.0), &device);
        for _ in 0..6 {
            let t = std::time::Instant::now();
            let g = m.rtrl_gradients(inputs.clone(), targets.clone());
            let _ = g.w.into_data();
            eprintln!("n={} {:.4}s", neurons+1, t.elapsed().as_secs_f64());
        }
    }
}
