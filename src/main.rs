use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = dsvcr::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let outcome = tokio::runtime::Runtime::new()
        .map_err(dsvcr::Error::runtime)
        .and_then(|runtime| runtime.block_on(dsvcr::run(cli)));
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("dsvcr: {err}");
            ExitCode::from(1)
        }
    }
}
