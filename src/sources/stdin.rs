//! NDJSON on standard input (e.g. `aws logs tail --format json … | bedrock-meter run`).
//! Not resumable (there is no position to come back to); duplicates of replayed input are
//! caught by the request-id dedup window.
use super::framing::{Frame, Framer};
use super::{SourceContext, SourceError};
use crate::pipeline::{Item, SourceChunk};
use std::io::Read;

/// Reads records from a reader until it ends or the source is stopped. Each record is sent
/// as it arrives, so a slow trickle is committed without waiting for more input.
pub fn run<R: Read>(input: R, cx: &SourceContext) -> Result<(), SourceError> {
    let mut framer = Framer::new(input);
    loop {
        if cx.stopped() {
            return Ok(());
        }
        let item = match framer.next_frame() {
            Ok(Some(Frame::Value(bytes))) => Item::parse(bytes),
            Ok(Some(Frame::Garbage(_))) => {
                Item::Rejected(crate::normalize::RejectReason::MalformedJson)
            }
            Ok(None) => {
                cx.success(None);
                return Ok(());
            }
            Err(e) => return Err(SourceError::Io(e)),
        };
        let newest = match &item {
            Item::Event(ev) => Some(ev.timestamp.timestamp()),
            Item::Rejected(_) | Item::Priced(_) | Item::Metrics(_) => None,
        };
        cx.send(SourceChunk {
            items: vec![item],
            ..SourceChunk::default()
        })?;
        cx.success(newest);
    }
}
