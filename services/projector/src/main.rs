use std::io::Write as _;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if service_kit::healthcheck::requested() {
        return service_kit::healthcheck::check(projector::DEFAULT_HTTP_ADDR);
    }
    let config = projector::Config::parse();
    service_kit::telemetry::init(config.common.log_format);
    match config.command {
        Some(projector::Command::Rebuild) => {
            let rebuilt = projector::rebuild(&config).await?;
            // The command's report, for whoever ran it.
            writeln!(
                std::io::stdout().lock(),
                "rebuilt generation {}: {} events in {:.2} s ({:.0} events/s)",
                rebuilt.generation,
                rebuilt.events,
                rebuilt.elapsed.as_secs_f64(),
                rebuilt.events_per_second()
            )?;
            Ok(())
        }
        None => projector::run(config, service_kit::shutdown::on_signal()).await,
    }
}
