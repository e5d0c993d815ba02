//! Cluster-validity indices with scikit-learn's definitions: Davies–Bouldin and
//! Calinski–Harabasz over the labels as given, and the adjusted Rand index between two
//! labelings. Cluster means are taken from the labels (not the centroids), in f64 over fixed
//! partitions, so the values do not depend on the thread count.

use crate::data::matrix::Matrix;
use crate::parallel::{PARTITION_ROWS, fold_partitions};
use std::collections::HashMap;

/// Per-cluster counts and f64 means of the points under `labels`.
pub fn cluster_means(points: &Matrix, labels: &[u32], k: usize) -> (Vec<u64>, Vec<f64>) {
    let d = points.cols();
    let mut counts = vec![0u64; k];
    let mut sums = vec![0.0f64; k * d];
    fold_partitions(
        points.rows(),
        PARTITION_ROWS,
        |range| {
            let mut c = vec![0u64; k];
            let mut s = vec![0.0f64; k * d];
            for i in range {
                let l = labels[i] as usize;
                c[l] += 1;
                for (acc, &v) in s[l * d..(l + 1) * d].iter_mut().zip(points.row(i)) {
                    *acc += f64::from(v);
                }
            }
            (c, s)
        },
        |(c, s)| {
            counts.iter_mut().zip(&c).for_each(|(a, b)| *a += b);
            sums.iter_mut().zip(&s).for_each(|(a, b)| *a += b);
        },
    );
    for (c, &count) in counts.iter().enumerate() {
        if count > 0 {
            sums[c * d..(c + 1) * d]
                .iter_mut()
                .for_each(|v| *v /= count as f64);
        }
    }
    (counts, sums)
}

/// Davies–Bouldin and Calinski–Harabasz of one labeling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidityIndices {
    /// Davies–Bouldin (lower is better); `None` when undefined (fewer than 2 clusters, or as many
    /// clusters as points).
    pub davies_bouldin: Option<f64>,
    /// Calinski–Harabasz (higher is better); `None` when undefined.
    pub calinski_harabasz: Option<f64>,
}

/// Computes both indices in two passes over the points.
pub fn validity_indices(points: &Matrix, labels: &[u32], k: usize) -> ValidityIndices {
    let n = points.rows();
    let d = points.cols();
    let (counts, means) = cluster_means(points, labels, k);
    let present: Vec<usize> = (0..k).filter(|&c| counts[c] > 0).collect();
    let m = present.len();
    if m < 2 || m >= n {
        return ValidityIndices {
            davies_bouldin: None,
            calinski_harabasz: None,
        };
    }
    // Per cluster: Σ‖x − mean‖ (Davies–Bouldin) and Σ‖x − mean‖² (Calinski–Harabasz).
    let mut dist_sum = vec![0.0f64; k];
    let mut sq_sum = vec![0.0f64; k];
    fold_partitions(
        n,
        PARTITION_ROWS,
        |range| {
            let mut a = vec![0.0f64; k];
            let mut b = vec![0.0f64; k];
            for i in range {
                let l = labels[i] as usize;
                let sq: f64 = points
                    .row(i)
                    .iter()
                    .zip(&means[l * d..(l + 1) * d])
                    .map(|(&x, &c)| (f64::from(x) - c).powi(2))
                    .sum();
                a[l] += sq.sqrt();
                b[l] += sq;
            }
            (a, b)
        },
        |(a, b)| {
            dist_sum.iter_mut().zip(&a).for_each(|(x, y)| *x += y);
            sq_sum.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
        },
    );

    let mean_of = |c: usize| &means[c * d..(c + 1) * d];
    let mut overall = vec![0.0f64; d];
    for &c in &present {
        for (o, &v) in overall.iter_mut().zip(mean_of(c)) {
            *o += v * counts[c] as f64 / n as f64;
        }
    }
    let extra: f64 = present
        .iter()
        .map(|&c| {
            counts[c] as f64
                * mean_of(c)
                    .iter()
                    .zip(&overall)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
        })
        .sum();
    let intra: f64 = present.iter().map(|&c| sq_sum[c]).sum();
    let calinski_harabasz = if intra == 0.0 {
        1.0
    } else {
        extra * (n - m) as f64 / (intra * (m - 1) as f64)
    };

    let spread: Vec<f64> = present
        .iter()
        .map(|&c| dist_sum[c] / counts[c] as f64)
        .collect();
    let centre_distance = |a: usize, b: usize| -> f64 {
        mean_of(a)
            .iter()
            .zip(mean_of(b))
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    // scikit-learn returns 0 when all spreads or all centre distances are (close to) zero.
    let spreads_zero = spread.iter().all(|x| x.abs() <= 1e-8);
    let centres_together = present
        .iter()
        .all(|&a| present.iter().all(|&b| centre_distance(a, b) <= 1e-8));
    let davies_bouldin = if spreads_zero || centres_together {
        0.0
    } else {
        let mut total = 0.0;
        for (i, &a) in present.iter().enumerate() {
            let mut worst = 0.0f64;
            for (j, &b) in present.iter().enumerate() {
                if i != j {
                    let dist = centre_distance(a, b);
                    let ratio = if dist == 0.0 {
                        0.0
                    } else {
                        (spread[i] + spread[j]) / dist
                    };
                    worst = worst.max(ratio);
                }
            }
            total += worst;
        }
        total / m as f64
    };
    ValidityIndices {
        davies_bouldin: Some(davies_bouldin),
        calinski_harabasz: Some(calinski_harabasz),
    }
}

/// Adjusted Rand index between two labelings of the same points (1 = identical partitions).
///
/// # Panics
/// If the labelings have different lengths (a caller bug).
pub fn adjusted_rand_index(a: &[u32], b: &[u32]) -> f64 {
    assert_eq!(a.len(), b.len(), "labelings of different lengths");
    let n = a.len() as f64;
    let pairs = |x: f64| x * (x - 1.0) / 2.0;
    let mut table: HashMap<(u32, u32), u64> = HashMap::new();
    let mut rows: HashMap<u32, u64> = HashMap::new();
    let mut cols: HashMap<u32, u64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1;
        *rows.entry(x).or_default() += 1;
        *cols.entry(y).or_default() += 1;
    }
    let index: f64 = table.values().map(|&v| pairs(v as f64)).sum();
    let sum_a: f64 = rows.values().map(|&v| pairs(v as f64)).sum();
    let sum_b: f64 = cols.values().map(|&v| pairs(v as f64)).sum();
    let expected = sum_a * sum_b / pairs(n);
    let max = (sum_a + sum_b) / 2.0;
    if max == expected {
        1.0
    } else {
        (index - expected) / (max - expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ari_of_a_relabeling_is_one_and_of_a_hand_case_matches() {
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
        // scikit-learn: adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]) = 0.5714285714285715
        let ari = adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]);
        assert!((ari - 0.5714285714285715).abs() < 1e-12, "{ari}");
    }

    #[test]
    fn indices_match_a_hand_computed_case() {
        // Clusters {0, 2} and {10, 12} on a line: means 1 and 11, overall 6.
        // CH: extra = 2·25 + 2·25 = 100, intra = 4 · 1 = 4 → 100·(4−2)/(4·1) = 50.
        // DB: spreads 1 and 1, centre distance 10 → (1+1)/10 = 0.2.
        let points = Matrix::from_vec(vec![0., 2., 10., 12.], 1);
        let got = validity_indices(&points, &[0, 0, 1, 1], 2);
        assert!((got.calinski_harabasz.unwrap() - 50.0).abs() < 1e-12);
        assert!((got.davies_bouldin.unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(
            validity_indices(&points, &[0, 0, 0, 0], 1).davies_bouldin,
            None
        );
    }
}
