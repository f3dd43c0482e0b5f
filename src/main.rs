//! The `bedrock-meter` binary: parses the command line and hands over to [`bedrock_meter::cli`].
use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: ingest allocates and frees a dozen small strings per
/// record (ids, labels), and mimalloc's thread-local free lists do that in fewer
/// instructions (see Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    bedrock_meter::cli::main()
}
