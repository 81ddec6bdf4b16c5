//! A generated customer-360 data set in the shape of the fixture: customers with loyalty
//! programs, orders of shared products, reviews, support tickets, site analytics and social
//! posts. Deterministic for a seed.

use rand::rngs::SmallRng;
use rand::{Rng as _, SeedableRng};

/// The generator's random numbers: deterministic for a seed.
pub struct Rng(SmallRng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(SmallRng::seed_from_u64(seed))
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0.random_range(0..n)
    }
}

pub const PRODUCTS: u64 = 1_000;

/// The uid of customer `i` (above the products).
pub fn customer_uid(i: u64) -> u64 {
    0x1_0000_0000 + i
}

/// NDJSON: the products, then one line per customer with everything nested. Returns the text
/// and the number of nodes it holds.
pub fn generate(customers: u64, seed: u64) -> (String, u64) {
    let mut r = Rng::new(seed);
    let mut out = String::with_capacity(customers as usize * 2_000);
    let mut nodes = 0;
    let cats = ["health", "vitamins", "sports", "beauty"];
    for p in 0..PRODUCTS {
        out.push_str(&format!(
            "{{\"__typename\":\"Product\",\"id\":\"{:#x}\",\"name\":\"Product {p}\",\"category\":\"{}\",\"price\":{}.{:02}}}\n",
            p + 1,
            cats[(p % 4) as usize],
            1 + r.below(100),
            r.below(100)
        ));
        nodes += 1;
    }
    let day =
        |r: &mut Rng| format!("2021-{:02}-{:02}T{:02}:00:00Z", 1 + r.below(12), 1 + r.below(28), r.below(24));
    let product = |r: &mut Rng| format!("{{\"id\":\"{:#x}\"}}", 1 + r.below(PRODUCTS));
    for c in 0..customers {
        let mut line = format!(
            "{{\"__typename\":\"Customer\",\"id\":\"{:#x}\",\"name\":\"Customer {c}\"",
            customer_uid(c)
        );
        nodes += 1;
        let mut list =
            |name: &str, n: u64, item: &mut dyn FnMut(&mut Rng) -> String, r: &mut Rng, nodes: &mut u64| {
                let items: Vec<String> = (0..n).map(|_| item(r)).collect();
                *nodes += n;
                line.push_str(&format!(",\"{name}\":[{}]", items.join(",")));
            };
        let n = 1 + r.below(2);
        list(
            "loyaltyPrograms",
            n,
            &mut |r| format!("{{\"joined\":\"{}\",\"level\":{}}}", day(r), 1 + r.below(5)),
            &mut r,
            &mut nodes,
        );
        let n = 1 + r.below(4);
        list(
            "orders",
            n,
            &mut |r| {
                let k = 1 + r.below(3);
                let ps: Vec<String> = (0..k).map(|_| product(r)).collect();
                format!(
                    "{{\"amount\":{}.{:02},\"products\":[{}]}}",
                    5 + r.below(200),
                    r.below(100),
                    ps.join(",")
                )
            },
            &mut r,
            &mut nodes,
        );
        let n = r.below(4);
        list("products", 0, &mut |r| product(r), &mut r, &mut nodes);
        list(
            "reviews",
            n,
            &mut |r| {
                format!(
                    "{{\"product\":{},\"rating\":{},\"summary\":\"review text {}\"}}",
                    product(r),
                    1 + r.below(5),
                    r.below(1000)
                )
            },
            &mut r,
            &mut nodes,
        );
        let n = r.below(8);
        list(
            "siteDataResults",
            n,
            &mut |r| {
                format!(
                    "{{\"date\":\"{}\",\"category\":\"potential-sale\",\"summary\":\"viewed product {}\"}}",
                    day(r),
                    r.below(PRODUCTS)
                )
            },
            &mut r,
            &mut nodes,
        );
        let n = r.below(3);
        list(
            "supportTickets",
            n,
            &mut |r| {
                format!(
                    "{{\"category\":\"order\",\"status\":\"open\",\"summary\":\"ticket {}\",\"created\":\"{}\"}}",
                    r.below(1000),
                    day(r)
                )
            },
            &mut r,
            &mut nodes,
        );
        let n = r.below(3);
        list(
            "socialMediaPosts",
            n,
            &mut |r| {
                format!(
                    "{{\"posted\":\"{}\",\"source\":\"twitter\",\"summary\":\"post {}\",\"tags\":[\"#a\",\"#b{}\"]}}",
                    day(r),
                    r.below(1000),
                    r.below(10)
                )
            },
            &mut r,
            &mut nodes,
        );
        line.push_str("}\n");
        out.push_str(&line);
    }
    (out, nodes)
}
