//! cctoken-dev-server: a small, real OAuth 2.0 authorization server (client credentials grant)
//! on loopback, used by every cctoken test, the demo, and users testing locally.

mod cli;
mod conn;
mod dev;
mod fault;
mod http;
mod providers;
mod resource;
mod server;
mod state;
mod tls;
mod token;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Command::Help) => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Ok(cli::Command::Version) => {
            println!("cctoken-dev-server {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(cli::Command::Run(config)) => match server::run(config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cctoken-dev-server: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("cctoken-dev-server: {e}\n\nRun cctoken-dev-server --help for usage.");
            ExitCode::from(2)
        }
    }
}
