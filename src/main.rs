fn main() -> std::process::ExitCode {
    memtune_cli::cli::main()
}
