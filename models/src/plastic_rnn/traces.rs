//! Exact copies of the Hebbian trace that a forward pass keeps for a backward pass that
//! rebuilds every other trace from the next one (the adjoint, on either kernels).

use std::collections::BTreeMap;

/// Exact traces kept by the forward pass, by step.
pub(crate) struct Stored<V> {
    traces: BTreeMap<usize, V>,
}

impl<V> Default for Stored<V> {
    fn default() -> Self {
        Self {
            traces: BTreeMap::new(),
        }
    }
}

impl<V> Stored<V> {
    pub(crate) fn insert(&mut self, step: usize, trace: V) {
        self.traces.insert(step, trace);
    }

    /// Where the trace `H(step)` comes from on the way back.
    pub(crate) fn source(&self, step: usize) -> TraceSource<&V> {
        match self.traces.get(&step) {
            _ if step == 0 => TraceSource::Zero,
            Some(trace) => TraceSource::Stored(trace),
            None => TraceSource::Rebuild,
        }
    }
}

/// Where the backward pass takes a trace from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TraceSource<S> {
    /// `H(0)`: the empty trace.
    Zero,
    /// An exact copy.
    Stored(S),
    /// Rebuilt from the next trace.
    Rebuild,
}

impl<S> TraceSource<S> {
    pub(crate) fn map<U>(self, f: impl FnOnce(S) -> U) -> TraceSource<U> {
        match self {
            Self::Zero => TraceSource::Zero,
            Self::Stored(s) => TraceSource::Stored(f(s)),
            Self::Rebuild => TraceSource::Rebuild,
        }
    }
}
