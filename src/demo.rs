//! The demo database of `quiver serve --demo`: the customer-360 example (its schema, its data,
//! and the query whose answer is `tests/fixtures/customer360/expected.json`) plus generated
//! customers, each with products, reviews and the rest of their own, so that there is a graph
//! to explore while the example query still returns exactly the expected answer.

use serde_json::{Value, json};

use crate::query::Error;
use crate::{Database, ImportReport};

/// The customer-360 schema.
pub const SCHEMA: &str = include_str!("../tests/fixtures/customer360/schema.graphql");
/// The customer-360 data.
pub const DATA: &str = include_str!("../tests/fixtures/customer360/data.json");
/// The customer-360 query.
pub const QUERY: &str = include_str!("../tests/fixtures/customer360/query.graphql");

/// A small deterministic generator (the same demo on every machine).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam", "Mara",
    "Noor", "Omar", "Priya",
];
const LAST: &[&str] = &[
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Silva",
    "Novak",
    "Haddad",
    "Kowalski",
    "Reyes",
    "Nguyen",
    "Fischer",
    "Osei",
];
const PRODUCTS: &[(&str, &str)] = &[
    ("Omega-3 Softgels", "health"),
    ("Zinc Picolinate", "minerals"),
    ("Vitamin B12 Drops", "vitamins"),
    ("Probiotic Blend", "health"),
    ("Iron Bisglycinate", "minerals"),
    ("Vitamin K2", "vitamins"),
    ("Ashwagandha Root", "herbs"),
    ("Turmeric Complex", "herbs"),
];
const TICKETS: &[&str] =
    &["late delivery", "wrong item", "billing question", "damaged package", "refund request"];
const SITES: &[&str] =
    &["viewed product page", "abandoned cart", "searched for vitamins", "read a blog post"];
const SOURCES: &[&str] = &["twitter", "instagram", "facebook", "reddit"];

fn date(rng: &mut Lcg) -> String {
    format!("2021-{:02}-{:02}T{:02}:00:00Z", 1 + rng.below(12), 1 + rng.below(28), rng.below(24))
}

/// `customers` generated customers as an import document (`{"Customer": [...]}`), each with
/// 1-3 orders of 1-2 products of its own (with 0-3 reviews each), a loyalty program, and some
/// tickets, site visits and posts. Nothing in it points at the example's nodes.
pub fn generated(customers: usize, seed: u64) -> Value {
    let mut rng = Lcg(seed);
    let mut list = Vec::with_capacity(customers);
    for _ in 0..customers {
        let name = format!("{} {}", rng.pick(FIRST), rng.pick(LAST));
        let orders: Vec<Value> = (0..1 + rng.below(3))
            .map(|_| {
                // One or two different products.
                let first = rng.below(PRODUCTS.len() as u64);
                let second = (first + 1 + rng.below(PRODUCTS.len() as u64 - 1)) % PRODUCTS.len() as u64;
                let picked = if rng.below(2) == 0 { vec![first] } else { vec![first, second] };
                let products: Vec<Value> = picked
                    .into_iter()
                    .map(|p| {
                        let (product, category) = PRODUCTS[p as usize];
                        let reviews: Vec<Value> = (0..rng.below(4))
                            .map(|_| {
                                let rating = 1 + rng.below(5);
                                json!({ "rating": rating, "summary": format!("{rating} stars") })
                            })
                            .collect();
                        let price = (5 + rng.below(40)) as f64 + 0.25 * rng.below(4) as f64;
                        json!({ "name": product, "category": category, "price": price, "reviews": reviews })
                    })
                    .collect();
                let amount: f64 = products.iter().filter_map(|p| p["price"].as_f64()).sum();
                json!({ "amount": amount, "products": products })
            })
            .collect();
        let tickets: Vec<Value> = (0..rng.below(3))
            .map(|_| {
                let status = if rng.below(2) == 0 { "open" } else { "closed" };
                json!({ "category": "support", "summary": rng.pick(TICKETS), "status": status, "created": date(&mut rng) })
            })
            .collect();
        let sites: Vec<Value> = (0..rng.below(4))
            .map(|_| json!({ "category": "web", "summary": rng.pick(SITES), "date": date(&mut rng) }))
            .collect();
        let posts: Vec<Value> = (0..rng.below(3))
            .map(|_| {
                json!({ "source": rng.pick(SOURCES), "summary": "loving my order", "tags": ["wellness"], "posted": date(&mut rng) })
            })
            .collect();
        list.push(json!({
            "name": name,
            "loyaltyPrograms": [{ "joined": date(&mut rng), "level": 1 + rng.below(5) }],
            "orders": orders,
            "supportTickets": tickets,
            "siteDataResults": sites,
            "socialMediaPosts": posts,
        }));
    }
    json!({ "Customer": list })
}

/// Loads the demo into `db` (which should be empty): the schema, the example's data and
/// `customers` generated customers.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let db = quiver::Database::open(dir.path()).unwrap();
/// quiver::demo::load(&db, 20).unwrap();
/// let r = db.execute(quiver::demo::QUERY, &serde_json::Value::Null);
/// assert!(r.json().starts_with(r#"{"data":{"queryCustomer":[{"id":"0x28caba09""#));
/// ```
pub fn load(db: &Database, customers: usize) -> Result<ImportReport, Error> {
    db.set_schema(SCHEMA)?;
    let example = db.import_json("customer360/data.json", DATA)?;
    let more = db.import_json("generated", &generated(customers, 360).to_string())?;
    Ok(ImportReport {
        nodes: example.nodes + more.nodes,
        edges: example.edges + more.edges,
        batches: example.batches + more.batches,
    })
}
