use std::io::Write as _;

use projector::{Command, Projector};
use service_kit::Launch;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = match service_kit::launch::<Projector>() {
        Launch::Probed(outcome) => return outcome,
        Launch::Configured(config) => config,
    };
    match config.own.command {
        Some(Command::Rebuild) => {
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
