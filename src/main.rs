use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = dsvcr::Cli::parse();
    dsvcr::init_logging(&cli);
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
