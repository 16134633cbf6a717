//! `denbun`: the terminal's command line (see `denbun --help`).

fn main() -> std::process::ExitCode {
    denbun_client::cli::main()
}
