fn main() -> std::process::ExitCode {
    service_kit::main::<booker::Booker>()
}
