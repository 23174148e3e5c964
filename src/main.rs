use clap::Parser;

fn main() -> std::process::ExitCode {
    wfsim::cli::main_with(wfsim::cli::Cli::parse())
}
