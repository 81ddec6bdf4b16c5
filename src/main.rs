//! The `quiver` command line.

mod cli;

/// Bulk imports and index rebuilds grow and drop large vectors; glibc's allocator returns
/// those pages to the kernel and faults them back in zeroed, which cost a fifth of an import
/// (docs/BENCHMARKS.md). mimalloc keeps them. The library leaves the choice to embedders.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
