//! Sending over SMTP (lettre): `SMTP_URL` is `smtp://[user:password@]host[:port]`, plain
//! SMTP to a relay or catcher (TLS is not built in; relay through a local MTA for that).
//! A failure is told apart as the mail system says: a permanent refusal (5xx) is final,
//! anything else (4xx, no connection, a timeout) may pass.

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use crate::letters::Letter;

/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// `SMTP_URL`: where mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, String)>,
}

impl SmtpUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let rest = raw.trim().strip_prefix("smtp://").ok_or_else(|| {
            "must be smtp://[user:password@]host[:port] (TLS is not built in: relay through a local MTA)"
                .to_owned()
        })?;
        let rest = rest.trim_end_matches('/');
        let (credentials, server) = match rest.rsplit_once('@') {
            Some((user, server)) => {
                let (name, password) = user.split_once(':').unwrap_or((user, ""));
                (Some((name.to_owned(), password.to_owned())), server)
            }
            None => (None, rest),
        };
        let (host, port) = match server.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse()
                    .map_err(|_| format!("{port:?} is not a port number"))?,
            ),
            None => (server, 25),
        };
        if host.is_empty() {
            return Err("names no host".to_owned());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            credentials,
        })
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The mail system refused it for good (5xx): sending again would not help.
    #[error("refused by the mail server: {0}")]
    Refused(String),
    /// Down, busy (4xx), unreachable or too slow: may pass.
    #[error("the mail server cannot take it now: {0}")]
    Unavailable(String),
    /// The message cannot be made (an address that is not one).
    #[error("the message cannot be made: {0}")]
    Invalid(String),
}

/// An email to send: who to, its ids and its letter.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub to_name: &'a str,
    pub to_email: &'a str,
    /// Without angle brackets.
    pub message_id: String,
    pub booking_id: String,
    pub letter: Letter,
}

/// The SMTP client.
#[derive(Debug, Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(url: &SmtpUrl, from: &str) -> Result<Self, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("MAIL_FROM {from:?} is not a mailbox: {e}"))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host)
            .port(url.port)
            .timeout(Some(SMTP_TIMEOUT));
        if let Some((user, password)) = &url.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    /// Sends `outgoing`; `Ok` once the server has taken it.
    pub async fn send(&self, outgoing: &Outgoing<'_>) -> Result<(), SendError> {
        let to = Mailbox::new(
            Some(outgoing.to_name.to_owned()),
            outgoing
                .to_email
                .parse()
                .map_err(|e| SendError::Invalid(format!("the guest's address: {e}")))?,
        );
        let mut message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(outgoing.letter.subject.clone())
            .message_id(Some(format!("<{}>", outgoing.message_id)))
            .multipart(MultiPart::alternative_plain_html(
                outgoing.letter.text.clone(),
                outgoing.letter.html.clone(),
            ))
            .map_err(|e| SendError::Invalid(e.to_string()))?;
        message.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Booking-Id"),
            outgoing.booking_id.clone(),
        ));
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(SendError::Refused(classify(&error))),
            Err(error) => Err(SendError::Unavailable(classify(&error))),
        }
    }
}

/// What went wrong, without the mail server's words: a reply's text often echoes the
/// recipient's address, and reasons end up in logs and dead letters, which must never hold
/// a guest's data. The SMTP code says enough (`550`: no such mailbox, `421`: busy...).
fn classify(error: &lettre::transport::smtp::Error) -> String {
    let kind = if error.is_permanent() {
        "a permanent refusal"
    } else if error.is_transient() {
        "a transient refusal"
    } else if error.is_timeout() {
        "a timeout"
    } else if error.is_client() {
        "a client error"
    } else if error.is_response() {
        "an unreadable reply"
    } else {
        "a connection failure"
    };
    let mut source = std::error::Error::source(error);
    let io = std::iter::from_fn(|| {
        let current = source?;
        source = current.source();
        Some(current)
    })
    .find_map(|cause| cause.downcast_ref::<std::io::Error>())
    .map(std::io::Error::kind);
    match (error.status(), io) {
        (Some(code), _) => format!("{kind}, SMTP {code}"),
        (None, Some(io)) => format!("{kind} ({io})"),
        (None, None) => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_smtp_url_names_the_host_the_port_and_maybe_credentials() {
        assert_eq!(
            SmtpUrl::parse("smtp://127.0.0.1:1025"),
            Ok(SmtpUrl {
                host: "127.0.0.1".into(),
                port: 1025,
                credentials: None
            })
        );
        let url = SmtpUrl::parse("smtp://bookings:s3cret@mail.example:587").expect("url");
        assert_eq!(url.host, "mail.example");
        assert_eq!(url.credentials, Some(("bookings".into(), "s3cret".into())));
        assert_eq!(SmtpUrl::parse("smtp://mailpit").map(|u| u.port), Ok(25));
        assert!(SmtpUrl::parse("smtps://mail.example").is_err());
        assert!(SmtpUrl::parse("smtp://:25").is_err());
        assert!(SmtpUrl::parse("smtp://host:port").is_err());
    }
}
