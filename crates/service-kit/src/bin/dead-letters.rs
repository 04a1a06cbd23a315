//! `dead-letters`: lists the messages the services' consumers could never process, and
//! replays them through the running consumer that gave up on them (after a fix was
//! deployed, say). Connects like the services do (`NATS_URL`, `NATS_USER`,
//! `NATS_PASSWORD`); use the `ops` user where the server has per-service users.

// Its output is what it is for.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::{Parser, Subcommand};
use eventstore::dead_letters::{self, DeadLetter};
use service_kit::config::CommonConfig;

/// Lists the messages the consumers could never process, and replays them.
#[derive(Debug, Parser)]
#[command(name = "dead-letters", version)]
struct Cli {
    #[command(flatten)]
    common: CommonConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lists the dead letters, oldest first: one line each.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Asks each dead letter's consumer to handle it again; the running service does,
    /// and deletes the dead letter once handled (a message that still fails stays).
    Replay {
        /// Sequences in DEAD_LETTERS, as `list` shows them.
        #[arg(required_unless_present = "all")]
        sequences: Vec<u64>,
        /// Every dead letter (of `--consumer` only, if given).
        #[arg(long, conflicts_with = "sequences")]
        all: bool,
        #[arg(long, requires = "all")]
        consumer: Option<String>,
    },
}

fn line(letter: &DeadLetter) -> String {
    format!(
        "{}\t{}\t{}#{}\t{}\t{}\t{} deliveries\t{}",
        letter.sequence,
        letter.consumer,
        letter.subject,
        letter.original_sequence,
        letter.event_type.as_deref().unwrap_or("-"),
        letter.stored_at,
        letter.deliveries,
        letter.reason,
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let client = service_kit::nats::options(&cli.common, "ops")
        .connect(cli.common.nats_url.servers())
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to NATS: {e}"))?;
    let js = async_nats::jetstream::new(client);
    match cli.command {
        Command::List { limit } => {
            let letters = dead_letters::list(&js, limit)
                .await
                .map_err(|e| anyhow::anyhow!("cannot list the dead letters: {e}"))?;
            for letter in &letters {
                println!("{}", line(letter));
            }
            eprintln!("{} dead letter(s)", letters.len());
        }
        Command::Replay {
            sequences,
            all,
            consumer,
        } => {
            let sequences = if all {
                dead_letters::list(&js, usize::MAX)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot list the dead letters: {e}"))?
                    .into_iter()
                    .filter(|l| consumer.as_ref().is_none_or(|c| *c == l.consumer))
                    .map(|l| l.sequence)
                    .collect()
            } else {
                sequences
            };
            for sequence in sequences {
                let letter = dead_letters::replay(&js, sequence)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot replay {sequence}: {e}"))?;
                println!("replay asked\t{}", line(&letter));
            }
        }
    }
    Ok(())
}
