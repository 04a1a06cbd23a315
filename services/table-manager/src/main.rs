fn main() -> std::process::ExitCode {
    service_kit::main::<table_manager::TableManager>()
}
