//! `<service> healthcheck`: the container's health probe, built into each binary so the
//! runtime image needs no curl or wget. It asks the service running in the same container
//! for `/healthz` on the port of `HTTP_ADDR` and exits 0 on a 200, 1 otherwise.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context as _, bail};

const TIMEOUT: Duration = Duration::from_secs(3);

/// True when the binary was started as `<service> healthcheck`.
pub fn requested() -> bool {
    std::env::args().nth(1).as_deref() == Some("healthcheck")
}

/// Probes `/healthz` of the service listening on `HTTP_ADDR` (or `default_addr`). An
/// unspecified listen address (`0.0.0.0`, `::`) is probed on loopback.
pub fn check(default_addr: &str) -> anyhow::Result<()> {
    let raw = std::env::var("HTTP_ADDR").unwrap_or_else(|_| default_addr.to_owned());
    let mut addr: SocketAddr = raw
        .parse()
        .with_context(|| format!("HTTP_ADDR {raw:?} is not an address like 0.0.0.0:8080"))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    probe(addr)
}

/// Sends `GET /healthz` to `addr` and succeeds on a 200 answer.
pub fn probe(addr: SocketAddr) -> anyhow::Result<()> {
    let mut stream =
        TcpStream::connect_timeout(&addr, TIMEOUT).with_context(|| format!("connect {addr}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .with_context(|| format!("send to {addr}"))?;
    let mut answer = Vec::new();
    // The status line is all we need; a service that never closes is cut off by the timeout.
    let mut chunk = [0u8; 256];
    while !answer.contains(&b'\n') {
        let read = stream
            .read(&mut chunk)
            .with_context(|| format!("read from {addr}"))?;
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..read]);
    }
    let status_line = String::from_utf8_lossy(&answer);
    let status_line = status_line.lines().next().unwrap_or_default();
    match status_line.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        _ => bail!("GET http://{addr}/healthz answered {status_line:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(answer: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut request = [0u8; 512];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(answer.as_bytes());
        });
        addr
    }

    #[test]
    fn a_service_answering_200_is_healthy() {
        let addr = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        assert!(probe(addr).is_ok());
    }

    #[test]
    fn a_service_answering_503_is_not_healthy() {
        let addr = serve_once("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
        let error = probe(addr).expect_err("503 is unhealthy").to_string();
        assert!(error.contains("503"), "{error}");
    }

    #[test]
    fn nothing_listening_is_not_healthy() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr");
        // The listener is dropped: the port is closed.
        assert!(probe(addr).is_err());
    }
}
