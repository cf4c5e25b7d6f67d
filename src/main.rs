//! The `gcc` binary: all behaviour lives in the library (`gcc::cli`).

fn main() -> std::process::ExitCode {
    gcc::cli::main()
}
