fn main() -> std::process::ExitCode {
    memtune::cli::main()
}
