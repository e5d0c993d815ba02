//! The demo's synthetic retail customer base: skewed, realistic recency / frequency / monetary /
//! tenure / engagement columns drawn from five hidden personas, so a fit can be checked against
//! the groups it should recover.

use crate::rng::{SeededRng, Stream};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

/// A hidden customer group and how its behaviour is drawn.
struct Persona {
    name: &'static str,
    share: f64,
    /// Median days since the last order.
    recency: f64,
    /// Median number of orders.
    orders: f64,
    /// Median order value.
    order_value: f64,
    /// Median days since the first order, beyond the recency.
    tenure: f64,
    /// Mean email open rate.
    open_rate: f64,
}

const PERSONAS: [Persona; 5] = [
    Persona {
        name: "champions",
        share: 0.12,
        recency: 8.0,
        orders: 24.0,
        order_value: 90.0,
        tenure: 900.0,
        open_rate: 0.55,
    },
    Persona {
        name: "loyal",
        share: 0.22,
        recency: 30.0,
        orders: 9.0,
        order_value: 60.0,
        tenure: 700.0,
        open_rate: 0.38,
    },
    Persona {
        name: "new",
        share: 0.16,
        recency: 15.0,
        orders: 1.4,
        order_value: 55.0,
        tenure: 20.0,
        open_rate: 0.45,
    },
    Persona {
        name: "at_risk",
        share: 0.22,
        recency: 150.0,
        orders: 6.0,
        order_value: 65.0,
        tenure: 800.0,
        open_rate: 0.15,
    },
    Persona {
        name: "lapsed",
        share: 0.28,
        recency: 420.0,
        orders: 1.6,
        order_value: 35.0,
        tenure: 600.0,
        open_rate: 0.04,
    },
];

/// The feature columns of the demo data, in order.
pub const FEATURES: [&str; 5] = [
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "email_open_rate",
];

/// Columns whose heavy right tail calls for log1p.
pub const SKEWED: [&str; 3] = ["recency_days", "frequency", "monetary"];

fn lognormal(rng: &mut SeededRng, median: f64, sigma: f64) -> f64 {
    median * (sigma * rng.normal()).exp()
}

/// `customers` seeded customers as record batches (customer_id, features, persona).
pub fn customers(customers: usize, seed: u64) -> (SchemaRef, Vec<RecordBatch>) {
    let mut rng = SeededRng::new(seed, Stream::Demo);
    let mut ids = Vec::with_capacity(customers);
    let (mut recency, mut frequency, mut monetary, mut tenure, mut open, mut persona) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for i in 0..customers {
        let mut u = rng.uniform();
        let p = PERSONAS.iter().find(|p| {
            u -= p.share;
            u < 0.0
        });
        let p = p.unwrap_or(&PERSONAS[PERSONAS.len() - 1]);
        let days = lognormal(&mut rng, p.recency, 0.5).round().max(1.0);
        let orders = lognormal(&mut rng, p.orders, 0.35).round().max(1.0);
        let spend = orders * lognormal(&mut rng, p.order_value, 0.3);
        ids.push(format!("C{:07}", i + 1));
        recency.push(days as i64);
        frequency.push(orders as i64);
        monetary.push((spend * 100.0).round() / 100.0);
        tenure.push((days + lognormal(&mut rng, p.tenure, 0.4)).round() as i64);
        open.push((p.open_rate + 0.08 * rng.normal()).clamp(0.0, 1.0));
        persona.push(p.name);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("recency_days", DataType::Int64, false),
        Field::new("frequency", DataType::Int64, false),
        Field::new("monetary", DataType::Float64, false),
        Field::new("tenure_days", DataType::Int64, false),
        Field::new("email_open_rate", DataType::Float64, false),
        Field::new("persona", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids)),
        Arc::new(Int64Array::from(recency)),
        Arc::new(Int64Array::from(frequency)),
        Arc::new(Float64Array::from(monetary)),
        Arc::new(Int64Array::from(tenure)),
        Arc::new(Float64Array::from(open)),
        Arc::new(StringArray::from(persona)),
    ];
    let batch =
        RecordBatch::try_new(schema.clone(), columns).expect("demo columns match the demo schema");
    (schema, vec![batch])
}
