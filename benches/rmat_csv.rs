//! Writes a Graph500 R-MAT graph (SPEC §8) as CSV for `quiver import` and the peer comparison:
//! `nodes.csv` (`key`: the vertex number), `edges.csv` (`key,key`: source and target) and
//! `seeds.txt` (100 vertices with out-degree at least one), plus `schema.graphql`.
//!
//! ```text
//! cargo bench --bench rmat_csv -- --scale 16 --out target/rmat16    # --seed N (default 1)
//! ```
#![allow(clippy::unwrap_used, missing_docs, dead_code)]

use std::io::Write;
use std::path::PathBuf;

#[path = "../engine/benches/support/rmat.rs"]
mod rmat;

/// The schema the graph is loaded with.
pub const SCHEMA: &str = "type Person {\n  id: ID!\n  key: Int! @id\n  knows: [Person]\n}\n";

fn main() {
    let mut scale = 16;
    let mut seed = 1;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--scale" => scale = args.next().and_then(|s| s.parse().ok()).expect("--scale N"),
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).expect("--seed N"),
            "--out" => out = args.next().map(PathBuf::from),
            _ => {} // cargo bench passes --bench
        }
    }
    let out = out.unwrap_or_else(|| PathBuf::from(format!("target/rmat{scale}")));
    std::fs::create_dir_all(&out).unwrap();
    let started = std::time::Instant::now();
    let g = rmat::rmat(scale, 16, seed);
    let seeds = rmat::seeds(&g, 100, seed + 1);
    let file = |name: &str| {
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out.join(name)).unwrap())
    };
    let mut nodes = file("nodes.csv");
    writeln!(nodes, "key").unwrap();
    for v in 0..g.vertices {
        writeln!(nodes, "{v}").unwrap();
    }
    nodes.flush().unwrap();
    let mut edges = file("edges.csv");
    writeln!(edges, "key,key").unwrap();
    for &(u, v) in &g.edges {
        writeln!(edges, "{u},{v}").unwrap();
    }
    edges.flush().unwrap();
    let mut s = file("seeds.txt");
    for v in &seeds {
        writeln!(s, "{v}").unwrap();
    }
    s.flush().unwrap();
    std::fs::write(out.join("schema.graphql"), SCHEMA).unwrap();
    println!(
        "{}: scale {scale}, {} vertices, {} edges, 100 seeds ({:.1} s)",
        out.display(),
        g.vertices,
        g.edges.len(),
        started.elapsed().as_secs_f64()
    );
}
