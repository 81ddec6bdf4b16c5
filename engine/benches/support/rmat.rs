//! Graph500 R-MAT graphs and the traversal kernels the benches time, shared by every bench.

/// SplitMix64: small, fast, deterministic.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// An R-MAT graph: `2^scale` vertices, edges as (source, target) sorted, without self-loops or
/// duplicates, vertex ids permuted.
pub struct Graph {
    pub vertices: u32,
    pub edges: Vec<(u32, u32)>,
}

/// Graph500 parameters: a=0.57, b=0.19, c=0.19, d=0.05, edge factor 16.
pub fn rmat(scale: u32, edge_factor: u32, seed: u64) -> Graph {
    let n = 1u32 << scale;
    let mut rng = Rng(seed);
    let (a, b, c) = (0.57, 0.19, 0.19);
    let mut perm: Vec<u32> = (0..n).collect();
    for i in (1..n as usize).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        perm.swap(i, j);
    }
    let m = n as usize * edge_factor as usize;
    let mut edges = Vec::with_capacity(m);
    for _ in 0..m {
        let (mut u, mut v) = (0u32, 0u32);
        for bit in 0..scale {
            let r = rng.unit();
            let (du, dv) = if r < a {
                (0, 0)
            } else if r < a + b {
                (0, 1)
            } else if r < a + b + c {
                (1, 0)
            } else {
                (1, 1)
            };
            u |= du << bit;
            v |= dv << bit;
        }
        let (u, v) = (perm[u as usize], perm[v as usize]);
        if u != v {
            edges.push((u, v));
        }
    }
    edges.sort_unstable();
    edges.dedup();
    Graph { vertices: n, edges }
}

/// `count` distinct vertices with out-degree at least one, chosen by a fixed seed.
pub fn seeds(g: &Graph, count: usize, seed: u64) -> Vec<u32> {
    let mut has_out = vec![false; g.vertices as usize];
    for &(u, _) in &g.edges {
        has_out[u as usize] = true;
    }
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    while out.len() < count {
        let v = (rng.next_u64() % u64::from(g.vertices)) as u32;
        if has_out[v as usize] && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// A plain in-memory CSR built from the edge list: the limit the engine is measured against.
pub struct PlainCsr {
    pub offsets: Vec<u64>,
    pub targets: Vec<u32>,
}

impl PlainCsr {
    pub fn out(g: &Graph) -> PlainCsr {
        let mut offsets = vec![0u64; g.vertices as usize + 1];
        for &(u, _) in &g.edges {
            offsets[u as usize + 1] += 1;
        }
        for i in 0..g.vertices as usize {
            offsets[i + 1] += offsets[i];
        }
        // Edges are sorted by (source, target), so targets come out sorted per vertex.
        let targets = g.edges.iter().map(|&(_, v)| v).collect();
        PlainCsr { offsets, targets }
    }
}

/// Adjacency as the kernels see it.
pub trait Adjacency {
    fn neighbors(&self, v: u32) -> &[u32];
}

impl Adjacency for PlainCsr {
    #[inline]
    fn neighbors(&self, v: u32) -> &[u32] {
        &self.targets[self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize]
    }
}

/// Reusable buffers for the kernels (no allocation per query).
pub struct Scratch {
    counts: Vec<u64>,
    next: Vec<u64>,
    frontier: Vec<u32>,
    next_frontier: Vec<u32>,
    seen: Vec<u64>,
    touched: Vec<u32>,
}

impl Scratch {
    pub fn new(vertices: u32) -> Scratch {
        Scratch {
            counts: vec![0; vertices as usize],
            next: vec![0; vertices as usize],
            frontier: Vec::new(),
            next_frontier: Vec::new(),
            seen: vec![0; (vertices as usize).div_ceil(64)],
            touched: Vec::new(),
        }
    }
}

/// Number of walks of exactly `depth` edges from `start`, by per-level multiplicity sums: each
/// level keeps one count per distinct vertex, and the last level needs only degrees. Also
/// returns the edges traversed (the size of the naive expansion).
pub fn walks<A: Adjacency>(adj: &A, start: u32, depth: u32, s: &mut Scratch) -> (u64, u64) {
    if depth == 0 {
        return (1, 0);
    }
    s.frontier.clear();
    s.frontier.push(start);
    s.counts[start as usize] = 1;
    let mut traversed = 0u64;
    for _ in 1..depth {
        s.next_frontier.clear();
        for &v in &s.frontier {
            let c = s.counts[v as usize];
            let nbrs = adj.neighbors(v);
            traversed += c * nbrs.len() as u64;
            for &t in nbrs {
                if s.next[t as usize] == 0 {
                    s.next_frontier.push(t);
                }
                s.next[t as usize] += c;
            }
        }
        for &v in &s.frontier {
            s.counts[v as usize] = 0;
        }
        std::mem::swap(&mut s.counts, &mut s.next);
        std::mem::swap(&mut s.frontier, &mut s.next_frontier);
    }
    let mut total = 0u64;
    for &v in &s.frontier {
        total += s.counts[v as usize] * adj.neighbors(v).len() as u64;
        s.counts[v as usize] = 0;
    }
    (total, traversed + total)
}

/// Number of distinct vertices reachable by 1..=`depth` edges from `start` (the start counts
/// only if a cycle reaches it), by BFS with a bitmap. Also returns the edges scanned.
pub fn reach<A: Adjacency>(adj: &A, start: u32, depth: u32, s: &mut Scratch) -> (u64, u64) {
    s.frontier.clear();
    s.frontier.push(start);
    s.touched.clear();
    let mut found = 0u64;
    let mut scanned = 0u64;
    for _ in 0..depth {
        s.next_frontier.clear();
        for &v in &s.frontier {
            let nbrs = adj.neighbors(v);
            scanned += nbrs.len() as u64;
            for &t in nbrs {
                let (w, bit) = (t as usize / 64, 1u64 << (t % 64));
                if s.seen[w] & bit == 0 {
                    if s.seen[w] == 0 {
                        s.touched.push(w as u32);
                    }
                    s.seen[w] |= bit;
                    s.next_frontier.push(t);
                    found += 1;
                }
            }
        }
        std::mem::swap(&mut s.frontier, &mut s.next_frontier);
    }
    for &w in &s.touched {
        s.seen[w as usize] = 0;
    }
    (found, scanned)
}
