use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if service_kit::healthcheck::requested() {
        return service_kit::healthcheck::check(booker::DEFAULT_HTTP_ADDR);
    }
    let config = booker::Config::parse();
    service_kit::telemetry::init(config.common.log_format);
    booker::run(config, service_kit::shutdown::on_signal()).await
}
