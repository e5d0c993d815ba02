//! A seeded synthetic transaction log for `strata generate --transactions`: customers from four
//! hidden personas that buy differently, over the two years up to 2025-12-31.
//!
//! | persona | share | orders | last order (days before the end) | active span (days) | basket |
//! |---|---|---|---|---|---|
//! | 0 champions | 15% | 18–40 | 0–20 | 400–730 | ≈ 110 |
//! | 1 loyal, small baskets | 25% | 10–25 | 0–45 | 300–730 | ≈ 22 |
//! | 2 lapsed | 35% | 2–6 | 250–650 | 30–200 | ≈ 55 |
//! | 3 new | 25% | 1–3 | 0–40 | 0–35 | ≈ 60 |
//!
//! An order has 1–3 lines (rows) sharing its order id and date; order totals are log-normal
//! around the persona's basket; 3% of orders get a refund line (a negative amount, a few days
//! later). Columns: `customer_id` (Int64), `order_id` (Int64), `date` (Date32), `amount`
//! (Float64), `persona` (UInt32, the hidden group, to check segments against). Customers are
//! generated in blocks, each from its own random stream, so the log is the same for any thread
//! count and is written block by block without being held in memory.

use crate::error::{Error, Result};
use crate::rng::{SeededRng, Stream};
use arrow_array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;
use std::sync::Arc;

/// Customers per generated block.
const BLOCK_CUSTOMERS: u64 = 4_096;

/// 2025-12-31 in days since 1970-01-01.
pub const LAST_DAY: i32 = 20_453;

/// Persona names, by persona number.
pub const PERSONAS: [&str; 4] = ["champions", "loyal, small baskets", "lapsed", "new"];

struct Persona {
    share: f64,
    orders: (u64, u64),
    last_before_end: (u64, u64),
    span: (u64, u64),
    basket: f64,
}

const TABLE: [Persona; 4] = [
    Persona {
        share: 0.15,
        orders: (18, 40),
        last_before_end: (0, 20),
        span: (400, 730),
        basket: 110.0,
    },
    Persona {
        share: 0.25,
        orders: (10, 25),
        last_before_end: (0, 45),
        span: (300, 730),
        basket: 22.0,
    },
    Persona {
        share: 0.35,
        orders: (2, 6),
        last_before_end: (250, 650),
        span: (30, 200),
        basket: 55.0,
    },
    Persona {
        share: 0.25,
        orders: (1, 3),
        last_before_end: (0, 40),
        span: (0, 35),
        basket: 60.0,
    },
];

/// The log's schema.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("order_id", DataType::Int64, false),
        Field::new("date", DataType::Date32, false),
        Field::new("amount", DataType::Float64, false),
        Field::new("persona", DataType::UInt32, false),
    ]))
}

fn between(rng: &mut SeededRng, (lo, hi): (u64, u64)) -> u64 {
    lo + rng.below(hi - lo + 1)
}

/// The rows of customers `first..first + count`.
fn block(seed: u64, index: u64, first: u64, count: u64) -> Result<RecordBatch> {
    let mut rng = SeededRng::new(seed, Stream::Transactions { block: index });
    let (mut customer, mut order, mut date, mut amount, mut persona) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for c in first..first + count {
        let draw = rng.uniform();
        let mut p = 0;
        let mut acc = TABLE[0].share;
        while draw >= acc && p + 1 < TABLE.len() {
            p += 1;
            acc += TABLE[p].share;
        }
        let spec = &TABLE[p];
        let orders = between(&mut rng, spec.orders);
        let last = LAST_DAY - between(&mut rng, spec.last_before_end) as i32;
        let span = between(&mut rng, spec.span) as i32;
        let first_day = last - span;
        for o in 0..orders {
            let day = match o {
                0 => last,
                1 => first_day,
                _ => first_day + rng.below(span as u64 + 1) as i32,
            };
            // Order ids are unique across the log: customer × 64 + order.
            let id = (c * 64 + o) as i64;
            let total = spec.basket * (0.45 * rng.normal() - 0.1).exp();
            let lines = 1 + rng.below(3);
            let mut left = total;
            for line in 0..lines {
                let part = if line + 1 == lines {
                    left
                } else {
                    left * (0.3 + 0.4 * rng.uniform())
                };
                left -= part;
                customer.push(c as i64);
                order.push(id);
                date.push(day);
                amount.push((part * 100.0).round() / 100.0);
                persona.push(p as u32);
            }
            if rng.uniform() < 0.03 {
                customer.push(c as i64);
                order.push(id);
                date.push((day + 1 + rng.below(14) as i32).min(LAST_DAY));
                amount.push(-((total * (0.1 + 0.4 * rng.uniform())) * 100.0).round() / 100.0);
                persona.push(p as u32);
            }
        }
    }
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(customer)),
        Arc::new(Int64Array::from(order)),
        Arc::new(Date32Array::from(date)),
        Arc::new(Float64Array::from(amount)),
        Arc::new(UInt32Array::from(persona)),
    ];
    RecordBatch::try_new(schema(), arrays)
        .map_err(|e| Error::Internal(format!("transaction batch: {e}")))
}

/// The log of `customers` customers, block by block, generated a few blocks at a time in
/// parallel.
pub fn batches(customers: u64, seed: u64) -> impl Iterator<Item = Result<RecordBatch>> {
    let blocks = customers.div_ceil(BLOCK_CUSTOMERS);
    let wave = (2 * rayon::current_num_threads()).max(2) as u64;
    (0..blocks.div_ceil(wave)).flat_map(move |w| {
        let batches: Vec<Result<RecordBatch>> = (w * wave..((w + 1) * wave).min(blocks))
            .into_par_iter()
            .map(|b| {
                let first = b * BLOCK_CUSTOMERS;
                block(seed, b, first, BLOCK_CUSTOMERS.min(customers - first))
            })
            .collect();
        batches
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::UInt32Type;

    #[test]
    fn personas_follow_their_shares_and_the_log_is_seeded() {
        let all: Vec<RecordBatch> = batches(10_000, 5).collect::<Result<_>>().unwrap();
        let again: Vec<RecordBatch> = batches(10_000, 5).collect::<Result<_>>().unwrap();
        assert_eq!(all, again);
        let mut per_persona = [0u64; 4];
        let mut seen = std::collections::HashSet::new();
        for batch in &all {
            let customers = batch
                .column(0)
                .as_primitive::<arrow_array::types::Int64Type>();
            let personas = batch.column(4).as_primitive::<UInt32Type>();
            for (c, p) in customers.values().iter().zip(personas.values()) {
                if seen.insert(*c) {
                    per_persona[*p as usize] += 1;
                }
            }
        }
        assert_eq!(seen.len(), 10_000);
        for (p, spec) in TABLE.iter().enumerate() {
            let share = per_persona[p] as f64 / 10_000.0;
            assert!((share - spec.share).abs() < 0.02, "persona {p}: {share}");
        }
    }
}
