use burn::backend::NdArray;
use burn::tensor::{Tensor, Distribution};
type B = NdArray<f32>;
fn time<F: FnMut()>(name: &str, mut f: F) {
    for _ in 0..5 { f(); }
    let t = std::time::Instant::now();
    for _ in 0..200 { f(); }
    eprintln!("{name}: {:.1} us", t.elapsed().as_secs_f64() / 200.0 * 1e6);
}
#[test]
fn ops() {
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20); libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30); libc::mallopt(libc::M_TOP_PAD, 64 << 20); }
    let d = Default::default();
    let (n, p) = (29usize, 311usize);
    let r = |s: [usize; 4]| Tensor::<B,4>::random(s, Distribution::Normal(0.0,1.0), &d);
    let big = r([1,n,n,p]);
    let big2 = r([1,n,n,p]);
    let u = r([1,n,1,1]);
    let a = r([1,1,n,p]);
    let v = r([1,1,n,1]);
    let bj = r([1,n,1,p]);
    let c = Tensor::<B,3>::random([n,1,n], Distribution::Normal(0.0,1.0), &d);
    let s = r([1,1,1,1]);
    time("copy (clone+add0)", || { let _ = big.clone() + big2.clone(); });
    time("u*a (T2)", || { let _ = u.clone() * a.clone(); });
    time("v*bj (T3)", || { let _ = v.clone() * bj.clone(); });
    time("big*s broadcast", || { let x = big.clone() + 0.0; let _ = x * s.clone(); });
    time("big+0 (copy)", || { let _ = big.clone() + 0.0; });
    time("big mul_scalar inplace after copy", || { let x = big.clone() + 0.0; let _ = x.mul_scalar(0.99); });
    time("reshape 3d", || { let _ = big.clone().reshape([n, n, p]); });
    time("matmul through", || { let _ = c.clone().matmul(big.clone().reshape([n, n, p])); });
    let u2 = Tensor::<B,2>::random([n,1], Distribution::Normal(0.0,1.0), &d);
    let a2 = Tensor::<B,2>::random([1,n*p], Distribution::Normal(0.0,1.0), &d);
    time("rank1 2d matmul", || { let _ = u2.clone().matmul(a2.clone()); });
    let c3 = Tensor::<B,3>::random([1,n,n], Distribution::Normal(0.0,1.0), &d);
    time("big as [n, n*p] left-mul by [n,n] blockdiag? matmul [1,n,n]@[1,n,n*p]", || { let _ = c3.clone().matmul(big.clone().reshape([1, n, n*p])); });
    time("u*a expand", || { let _ = u.clone().expand([1,n,n,p]) * a.clone().expand([1,n,n,p]); });
    time("big*bj broadcast", || { let x = big.clone() + 0.0; let _ = x * bj.clone(); });
    time("big*u broadcast", || { let x = big.clone() + 0.0; let _ = x * u.clone(); });
    time("big.sum_dim(3)", || { let _ = big.clone().sum_dim(3); });
    let ubig = r([1,n,1,p]);
    time("ubig*a (contiguous inner)", || { let _ = ubig.clone() * a.clone(); });
    time("x + ubig*a", || { let x = big.clone() + 0.0; let _ = x + ubig.clone() * a.clone(); });
    time("x + a (bcast add inplace)", || { let x = big.clone() + 0.0; let _ = x + a.clone(); });
    time("mul+sum_dim", || { let _ = (v.clone() * big.clone()).sum_dim(2); });
}
