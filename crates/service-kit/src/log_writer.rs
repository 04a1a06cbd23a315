//! Where log lines go: a thread of their own writes them to stdout, so logging never
//! blocks a runtime worker and never fails the code that logs.
//!
//! A process whose stdout reader stops reading (a full pipe) or has gone away (a closed
//! pipe) must keep serving and must still stop on SIGTERM. Written in the caller's thread,
//! a full pipe parks the worker inside `write`, and a closed one makes tracing-subscriber
//! report the error with `eprintln!`, which panics when stderr is that same closed pipe:
//! the task that logged (the signal handler, say) dies. Here the caller only hands the
//! formatted line to a bounded queue; when the queue is full the line is dropped and
//! counted, and the writer thread says how many were dropped once it can write again.
//! Write errors are swallowed (there is nowhere left to report them).

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Lines that may wait for the writer thread; more are dropped.
const QUEUE: usize = 16_384;

enum Message {
    Line(Vec<u8>),
    Flush(SyncSender<()>),
}

/// Hands log lines to the process's writer thread (made on first use, writing to stdout).
#[derive(Debug, Clone, Copy)]
pub struct LogWriter {
    queue: &'static Queue,
}

impl Default for LogWriter {
    fn default() -> Self {
        static STDOUT: OnceLock<Queue> = OnceLock::new();
        Self {
            queue: STDOUT.get_or_init(|| Queue::start(QUEUE, io::stdout())),
        }
    }
}

impl LogWriter {
    /// Waits up to `timeout` for the lines queued so far to be written (at exit).
    pub fn flush(&self, timeout: Duration) {
        let (done, flushed) = mpsc::sync_channel(1);
        if self.queue.sender.try_send(Message::Flush(done)).is_ok() {
            let _ = flushed.recv_timeout(timeout);
        }
    }

    /// How many lines were dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct Queue {
    sender: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
}

impl Queue {
    /// A queue of `capacity` lines and the thread that writes them to `out`.
    fn start(capacity: usize, out: impl Write + Send + 'static) -> Self {
        let (sender, receiver) = mpsc::sync_channel::<Message>(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = dropped.clone();
        // Without the thread every line is dropped (and counted): nothing blocks.
        let _ = std::thread::Builder::new()
            .name("log-writer".to_owned())
            .spawn(move || write_lines(&receiver, &counted, out));
        Self { sender, dropped }
    }
}

fn write_lines(receiver: &mpsc::Receiver<Message>, dropped: &AtomicU64, mut out: impl Write) {
    let mut reported = 0;
    while let Ok(message) = receiver.recv() {
        match message {
            Message::Line(line) => {
                let now = dropped.load(Ordering::Relaxed);
                if now > reported {
                    let _ = writeln!(
                        out,
                        "log-writer: {} log lines dropped (stdout did not keep up)",
                        now - reported
                    );
                    reported = now;
                }
                let _ = out.write_all(&line);
                let _ = out.flush();
            }
            Message::Flush(done) => {
                let _ = out.flush();
                let _ = done.send(());
            }
        }
    }
}

/// One log line being formatted; queued when dropped.
#[derive(Debug)]
pub struct Line {
    bytes: Vec<u8>,
    queue: &'static Queue,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.bytes.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.bytes);
        match self.queue.sender.try_send(Message::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.queue.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Line;

    fn make_writer(&'a self) -> Self::Writer {
        Line {
            bytes: Vec::new(),
            queue: self.queue,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A stdout that keeps what it is given, fails every write, or blocks every write
    /// (a reader that stopped reading) until the test ends.
    #[derive(Clone)]
    enum Out {
        Keeps(Arc<Mutex<Vec<u8>>>),
        Broken,
        Stalled(Arc<Mutex<mpsc::Receiver<()>>>),
    }

    impl Write for Out {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            match self {
                Self::Keeps(written) => written
                    .lock()
                    .map_err(|_| io::Error::other("poisoned"))?
                    .extend_from_slice(bytes),
                Self::Broken => return Err(io::Error::from(io::ErrorKind::BrokenPipe)),
                Self::Stalled(never) => {
                    let _ = never.lock().map(|never| never.recv());
                }
            }
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn writer(capacity: usize, out: Out) -> LogWriter {
        LogWriter {
            queue: Box::leak(Box::new(Queue::start(capacity, out))),
        }
    }

    fn log(writer: &LogWriter, text: &str) {
        let mut line = writer.make_writer();
        line.write_all(text.as_bytes()).expect("a line takes bytes");
    }

    #[test]
    fn a_line_is_written_whole_once_formatted() {
        let written = Arc::<Mutex<Vec<u8>>>::default();
        let writer = writer(4, Out::Keeps(written.clone()));
        log(&writer, "one\n");
        log(&writer, "two\n");
        writer.flush(Duration::from_secs(5));
        assert_eq!(written.lock().expect("lock").as_slice(), b"one\ntwo\n");
        assert_eq!(writer.dropped(), 0);
    }

    #[test]
    fn given_a_closed_stdout_when_lines_are_logged_then_nothing_fails_or_panics() {
        let writer = writer(4, Out::Broken);
        for _ in 0..1_000 {
            log(&writer, "a line\n");
        }
        writer.flush(Duration::from_secs(5));
    }

    #[test]
    fn given_a_stdout_nobody_reads_when_the_queue_is_full_then_logging_drops_lines_and_never_blocks()
     {
        let (_keep, never) = mpsc::channel::<()>();
        let writer = writer(8, Out::Stalled(Arc::new(Mutex::new(never))));
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..1_000 {
                log(&writer, "a line\n");
            }
            let _ = done.send(writer.dropped());
        });
        let dropped = finished
            .recv_timeout(Duration::from_secs(10))
            .expect("logging returned although nobody reads stdout");
        assert!(dropped >= 1_000 - 8 - 1, "{dropped} lines dropped");
    }
}
