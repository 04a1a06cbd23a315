use std::io::Write as _;
use std::process::ExitCode;

use projector::{Command, Projector};
use service_kit::Launch;

fn main() -> ExitCode {
    let config = match service_kit::launch::<Projector>() {
        Launch::Probed(Ok(())) => return ExitCode::SUCCESS,
        Launch::Probed(Err(error)) => {
            let _ = writeln!(std::io::stderr(), "{error:#}");
            return ExitCode::FAILURE;
        }
        Launch::Configured(config) => config,
    };
    let drain = config.common.drain_timeout;
    match config.own.command {
        Some(Command::Rebuild) => service_kit::serve("projector", drain, |_| async move {
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
        }),
        None => service_kit::serve("projector", drain, |shutdown| {
            projector::run(config, shutdown)
        }),
    }
}
