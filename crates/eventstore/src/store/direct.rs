//! Batched direct gets (JetStream ADR-31/53): several messages of a subject in one
//! request, from any replica, or from one that has stored at least a given sequence.

use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use futures_util::StreamExt;

use super::REQUEST_TIMEOUT;
use crate::log::LoadError;

/// One batched direct get on `stream`: up to `batch` messages whose subjects match
/// `subject` (wildcards allowed), from sequence `from_seq` on, in order, as (sequence,
/// headers, payload). Fewer than `batch` means there are no more. With `min_last`, only a
/// replica that has stored at least that sequence answers (a follower that has not hands
/// the request to the leader; ADR-53 of NATS, server 2.12+).
pub async fn direct_get_batch(
    client: &Client,
    stream: &str,
    subject: &str,
    from_seq: u64,
    batch: usize,
    min_last: Option<u64>,
) -> Result<Vec<(u64, Option<HeaderMap>, Bytes)>, LoadError> {
    let unavailable = LoadError::Unavailable;
    let inbox = client.new_inbox();
    let mut replies = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| unavailable(Box::new(e)))?;
    let mut request = serde_json::json!({
        "seq": from_seq,
        "next_by_subj": subject,
        "batch": batch,
    });
    if let Some(min_last) = min_last {
        request["min_last_seq"] = min_last.into();
    }
    client
        .publish_with_reply(
            format!("$JS.API.DIRECT.GET.{stream}"),
            inbox,
            Bytes::from(request.to_string()),
        )
        .await
        .map_err(|e| unavailable(Box::new(e)))?;

    let mut page = Vec::new();
    loop {
        let message = tokio::time::timeout(REQUEST_TIMEOUT, replies.next())
            .await
            .map_err(|_| unavailable("timed out loading an aggregate".into()))?
            .ok_or_else(|| unavailable("connection closed while loading".into()))?;
        match message.status.map(|s| s.as_u16()) {
            // End of batch, or nothing (more) stored for this subject.
            Some(204 | 404) => return Ok(page),
            Some(503) => return Err(unavailable("JetStream is not available".into())),
            Some(412) => {
                return Err(unavailable(
                    "no replica has caught up with the stream's leader yet".into(),
                ));
            }
            Some(code) if code >= 300 => {
                let why = message.description.unwrap_or_default();
                return Err(unavailable(
                    format!("direct get failed: {code} {why}").into(),
                ));
            }
            _ => {}
        }
        let sequence = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Sequence"))
            .and_then(|v| v.as_str().parse::<u64>().ok())
            .ok_or_else(|| unavailable("direct get reply without Nats-Sequence".into()))?;
        page.push((sequence, message.headers, message.payload));
        if page.len() == batch {
            // The server still sends its end-of-batch marker; the subscription is
            // dropped with it, which is harmless.
            return Ok(page);
        }
    }
}
