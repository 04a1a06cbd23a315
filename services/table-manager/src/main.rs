use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if service_kit::healthcheck::requested() {
        return service_kit::healthcheck::check(table_manager::DEFAULT_HTTP_ADDR);
    }
    let config = table_manager::Config::parse();
    service_kit::telemetry::init(config.common.log_format);
    table_manager::run(config, service_kit::shutdown::on_signal()).await
}
