//! The `arangorepl` binary: parses the command line and hands over to the layer that does the work.

use clap::Parser;

/// arangorepl — ArangoDB-style Leader/Follower replication, driven from a friendly shell.
#[derive(Parser, Debug)]
#[command(name = "arangorepl", version, about, long_about = None)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    println!(
        "arangorepl {}: see `arangorepl --help`",
        env!("CARGO_PKG_VERSION")
    );
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
