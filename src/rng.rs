//! The seeded random number generator every random choice in Strata goes through.
//!
//! One named generator (ChaCha8) so the same `--seed` gives the same result on every run and every
//! machine. Each use draws from its own stream (`Stream`), so adding a random draw in one place
//! never shifts the numbers another place sees. Sampling is implemented here rather than through a
//! distributions library, so the sequence cannot change under a dependency update.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// The independent random streams Strata draws from, one per purpose.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    /// Seeding of restart `run` (k-means++ or random init).
    Init { run: u32 },
    /// The blob centres of `strata generate`.
    BlobCentres,
    /// The rows of batch `batch` of `strata generate`.
    BlobBatch { batch: u64 },
    /// The customers of the demo data set.
    Demo,
    /// The points of a sampled silhouette.
    Silhouette,
    /// Reference set `set` of the gap statistic (its points, then its seeding).
    GapReference { set: u32 },
    /// Customer block `block` of a synthetic transaction log.
    Transactions { block: u64 },
}

impl Stream {
    fn id(self) -> u64 {
        match self {
            Stream::Init { run } => (1 << 60) | u64::from(run),
            Stream::BlobCentres => 2 << 60,
            Stream::BlobBatch { batch } => (3 << 60) | (batch & ((1 << 60) - 1)),
            Stream::Demo => 4 << 60,
            Stream::Silhouette => 5 << 60,
            Stream::GapReference { set } => (6 << 60) | u64::from(set),
            Stream::Transactions { block } => (7 << 60) | (block & ((1 << 60) - 1)),
        }
    }
}

/// A seeded ChaCha8 generator bound to one stream.
#[derive(Debug, Clone)]
pub struct SeededRng {
    inner: ChaCha8Rng,
}

impl SeededRng {
    /// The generator for `stream` under the user's `seed`.
    pub fn new(seed: u64, stream: Stream) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream.id());
        Self { inner }
    }

    /// A raw 64-bit draw.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform draw in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in [0, n), without modulo bias (Lemire's method). `n` must be > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no valid result");
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// A standard normal draw (Box–Muller; one draw per call, the pair's twin is discarded).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln is finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `k` distinct indices from [0, n), in the order drawn (partial Fisher–Yates, O(k) memory).
    pub fn distinct_indices(&mut self, n: usize, k: usize) -> Vec<usize> {
        assert!(k <= n, "cannot draw {k} distinct indices from {n}");
        let mut swapped = std::collections::HashMap::<usize, usize>::new();
        let mut picked = Vec::with_capacity(k);
        for i in 0..k {
            let j = i + self.below((n - i) as u64) as usize;
            let at_j = *swapped.get(&j).unwrap_or(&j);
            let at_i = *swapped.get(&i).unwrap_or(&i);
            swapped.insert(j, at_i);
            picked.push(at_j);
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_same_numbers() {
        let mut a = SeededRng::new(7, Stream::Init { run: 0 });
        let mut b = SeededRng::new(7, Stream::Init { run: 0 });
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn streams_are_independent() {
        let mut a = SeededRng::new(7, Stream::Init { run: 0 });
        let mut b = SeededRng::new(7, Stream::Init { run: 1 });
        assert_ne!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn distinct_indices_are_distinct_and_in_range() {
        let mut rng = SeededRng::new(1, Stream::Demo);
        let picked = rng.distinct_indices(50, 50);
        let mut sorted = picked.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn uniform_and_normal_have_the_right_moments() {
        let mut rng = SeededRng::new(3, Stream::Demo);
        let n = 200_000;
        let (mut su, mut sn, mut sn2) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            su += rng.uniform();
            let z = rng.normal();
            sn += z;
            sn2 += z * z;
        }
        let n = n as f64;
        assert!((su / n - 0.5).abs() < 0.005, "uniform mean {}", su / n);
        assert!((sn / n).abs() < 0.01, "normal mean {}", sn / n);
        assert!((sn2 / n - 1.0).abs() < 0.02, "normal variance {}", sn2 / n);
    }
}
