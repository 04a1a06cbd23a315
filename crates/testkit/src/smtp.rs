//! A real SMTP server for tests (the commands of RFC 5321 a mail client sends: EHLO/HELO,
//! MAIL, RCPT, DATA, RSET, NOOP, QUIT) on a free loopback port. It keeps what it receives,
//! and can be told to be out of service (`421` at the greeting, as a server that is down
//! for a while answers) or to refuse recipients for good (`550`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpMode {
    /// Takes every message.
    Accept,
    /// `421` to every connection: the server is down for a while.
    Unavailable,
    /// `550` to every recipient, echoing the address (as real servers do): a permanent
    /// refusal.
    Refuse,
}

/// One message as received: the envelope and the data (headers and body, dot-unstuffed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl ReceivedMail {
    /// The value of header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = value.as_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((key, rest)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                value = Some(rest.trim().to_owned());
            }
        }
        value
    }
}

#[derive(Debug)]
struct State {
    mode: SmtpMode,
    received: Vec<ReceivedMail>,
    /// Connections seen (also those turned away).
    connections: usize,
}

/// A running SMTP server; stops when dropped.
#[derive(Debug)]
pub struct SmtpServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    /// Starts a server that accepts every message.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP server");
        let addr = listener.local_addr().expect("SMTP address");
        let state = Arc::new(Mutex::new(State {
            mode: SmtpMode::Accept,
            received: Vec::new(),
            connections: 0,
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, shared.clone()));
            }
        });
        Self { addr, state, task }
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// From now on, answer as `mode` says.
    pub fn set_mode(&self, mode: SmtpMode) {
        self.lock().mode = mode;
    }

    /// Every message taken so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.lock().received.clone()
    }

    /// How many connections were made so far.
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    /// Waits until `done` holds for the messages taken; panics after `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[ReceivedMail]) -> bool,
    ) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP server never got what the test waits for; it got {} messages",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client's session.
async fn session(stream: TcpStream, state: Arc<Mutex<State>>) {
    let mode = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        state.connections += 1;
        state.mode
    };
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    if mode == SmtpMode::Unavailable {
        let _ = writer
            .write_all(b"421 4.3.2 test server out of service, try again later\r\n")
            .await;
        return;
    }
    let say = async |writer: &mut tokio::net::tcp::OwnedWriteHalf, line: &str| {
        writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .is_ok()
    };
    if !say(&mut writer, "220 testkit ESMTP").await {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") {
            "250-testkit\r\n250-8BITMIME\r\n250 SMTPUTF8".to_owned()
        } else if upper.starts_with("HELO") {
            "250 testkit".to_owned()
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&line[10..]);
            to.clear();
            "250 2.1.0 ok".to_owned()
        } else if upper.starts_with("RCPT TO:") {
            if mode == SmtpMode::Refuse {
                // As real servers do: the refusal echoes the recipient's address.
                format!(
                    "550 5.1.1 <{}>: Recipient address rejected: no such mailbox here",
                    address(&line[8..])
                )
            } else {
                to.push(address(&line[8..]));
                "250 2.1.5 ok".to_owned()
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                "503 5.5.1 no valid recipients".to_owned()
            } else {
                if !say(&mut writer, "354 end with <CRLF>.<CRLF>").await {
                    return;
                }
                let mut data = String::new();
                loop {
                    match lines.next_line().await {
                        Ok(Some(line)) if line == "." => break,
                        Ok(Some(line)) => {
                            data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            data.push_str("\r\n");
                        }
                        _ => return,
                    }
                }
                let mail = ReceivedMail {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                };
                state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .received
                    .push(mail);
                "250 2.0.0 queued".to_owned()
            }
        } else if upper == "RSET" || upper == "NOOP" {
            to.clear();
            "250 2.0.0 ok".to_owned()
        } else if upper == "QUIT" {
            let _ = say(&mut writer, "221 2.0.0 bye").await;
            return;
        } else {
            "502 5.5.2 command not implemented".to_owned()
        };
        if !say(&mut writer, &reply).await {
            return;
        }
    }
}

/// `<a@b>` (with parameters after it) as `a@b`.
fn address(raw: &str) -> String {
    let raw = raw.trim();
    let inner = raw
        .strip_prefix('<')
        .and_then(|rest| rest.split_once('>'))
        .map_or(raw, |(inner, _)| inner);
    inner.to_owned()
}
