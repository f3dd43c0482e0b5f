//! Frames a byte stream into top-level JSON values without parsing them.
//!
//! Bedrock's S3 objects are NDJSON; hand-made copies are often pretty-printed, concatenated,
//! or a JSON array. The framer tracks string/escape state and nesting depth, so all of these
//! work, and it never allocates per record: frames are slices of a reused buffer. Bytes that
//! cannot start a JSON value are returned as garbage frames (one per line) so the caller can
//! count them and go on. A truncated record followed by a new record at the start of a line
//! is cut off there, so one bad line costs one record, not the rest of the file.

use std::io::{self, Read};

/// Largest single record accepted (Bedrock inlines bodies up to 100 KB each; CloudWatch Logs
/// events are at most 1 MB). Anything larger is reported as garbage and skipped.
pub const MAX_RECORD_BYTES: usize = 32 * 1024 * 1024;

const CHUNK: usize = 256 * 1024;

/// `}{`: compact values concatenated on one line (built once, not per line).
static CONCATENATED: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"}{"));

/// One framed item.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// The bytes of one complete top-level JSON object (or array element).
    Value(&'a [u8]),
    /// Bytes that are not a complete JSON value (stray text, a truncated record, an oversized
    /// record). Counted by the caller as a malformed record.
    Garbage(&'a [u8]),
}

/// Splits a reader into JSON values.
pub struct Framer<R> {
    reader: R,
    buf: Vec<u8>,
    /// Start of unconsumed data in `buf`.
    start: usize,
    /// End of valid data in `buf`.
    end: usize,
    eof: bool,
    /// True once the stream turned out to be a top-level JSON array.
    array_mode: Option<bool>,
    /// Bytes before `start` that were already handed out; the total is the stream offset.
    consumed: u64,
}

impl<R: Read> Framer<R> {
    /// Wraps a reader.
    pub fn new(reader: R) -> Framer<R> {
        Framer {
            reader,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
            array_mode: None,
            consumed: 0,
        }
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// Bytes of the (decompressed) stream consumed so far.
    pub fn offset(&self) -> u64 {
        self.consumed
    }

    /// Reads more data, compacting the buffer first. Returns false at end of stream.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grow = self.buf.len().min(MAX_RECORD_BYTES);
            self.buf.resize(self.buf.len() + grow, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The next frame, or `None` at end of stream. An I/O error (such as a truncated gzip
    /// stream) is returned as is; frames already returned stay valid.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame<'_>>> {
        // Skip whitespace and separators between values.
        loop {
            while self.start < self.end {
                let b = self.buf[self.start];
                let is_sep = b.is_ascii_whitespace()
                    || b == b','
                    || (b == b'[' && self.array_mode.is_none())
                    || (b == b']' && self.array_mode == Some(true));
                if !is_sep {
                    break;
                }
                if b == b'[' {
                    self.array_mode = Some(true);
                }
                self.start += 1;
                self.consumed += 1;
            }
            if self.start < self.end {
                break;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
        if self.array_mode.is_none() {
            self.array_mode = Some(false);
        }
        let first = self.buf[self.start];
        if first != b'{' {
            return self.garbage_line();
        }
        if self.array_mode == Some(false)
            && let Some((s, e)) = self.ndjson_line()?
        {
            return Ok(Some(Frame::Value(&self.buf[s..e])));
        }
        // Scan one object.
        let mut i = self.start;
        let mut depth: usize = 0;
        let mut in_string = false;
        loop {
            if i >= self.end {
                let scanned = i - self.start;
                if scanned > MAX_RECORD_BYTES {
                    return self.skip_to_next_record_line();
                }
                let before = self.start;
                if !self.fill()? {
                    // End of stream inside a value: a truncated record.
                    return Ok(Some(self.rest_as_garbage()));
                }
                // `fill` moved data to the front.
                i = i - before + self.start;
                continue;
            }
            let b = self.buf[i];
            if in_string {
                match memchr::memchr3(b'"', b'\\', b'\n', &self.buf[i..self.end]) {
                    None => {
                        i = self.end;
                        continue;
                    }
                    Some(off) => {
                        let j = i + off;
                        if self.buf[j] == b'\n' {
                            // JSON strings cannot hold a raw newline: the record is broken
                            // (a cut line or a lost quote). Skip to the next record line.
                            return self.skip_to_next_record_line();
                        }
                        if self.buf[j] == b'\\' {
                            // Skip the escaped byte (may be beyond the buffer end).
                            if j + 1 >= self.end {
                                i = j;
                                let before = self.start;
                                if !self.fill()? {
                                    return Ok(Some(self.rest_as_garbage()));
                                }
                                i = i - before + self.start;
                                continue;
                            }
                            i = j + 2;
                        } else {
                            in_string = false;
                            i = j + 1;
                        }
                        continue;
                    }
                }
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => {
                    // A `{` at the start of a line while inside a value means the previous
                    // record was cut short (NDJSON with a truncated line).
                    if depth > 0 && b == b'{' && i > self.start && self.buf[i - 1] == b'\n' {
                        let s = self.start;
                        self.consumed += (i - s) as u64;
                        self.start = i;
                        return Ok(Some(Frame::Garbage(&self.buf[s..i])));
                    }
                    depth += 1;
                }
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        let s = self.start;
                        let e = i + 1;
                        self.consumed += (e - s) as u64;
                        self.start = e;
                        return Ok(Some(Frame::Value(&self.buf[s..e])));
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }

    /// Consumes whatever is left of the stream (a value cut off by its end) as garbage.
    fn rest_as_garbage(&mut self) -> Frame<'_> {
        let (s, e) = (self.start, self.end);
        self.consumed += (e - s) as u64;
        self.start = e;
        Frame::Garbage(&self.buf[s..e])
    }

    /// NDJSON fast path: when the line at `start` begins with `{`, ends with `}` and has no
    /// `}{` in it (compact values concatenated without a newline), it is handed out whole
    /// after one `memchr` for the newline, without the byte-by-byte structural scan; the
    /// parser validates it, so a broken line is still rejected as one malformed record.
    /// Returns the line's range in `buf` (consumed), or `None` to leave the line to the
    /// structural scan (pretty-printed values, a truncated line, no newline before the end
    /// of the stream).
    fn ndjson_line(&mut self) -> io::Result<Option<(usize, usize)>> {
        loop {
            if let Some(off) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let s = self.start;
                let mut e = s + off;
                while e > s && matches!(self.buf[e - 1], b'\r' | b' ' | b'\t') {
                    e -= 1;
                }
                let line = &self.buf[s..e];
                if line.last() != Some(&b'}') || CONCATENATED.find(line).is_some() {
                    return Ok(None);
                }
                self.consumed += (off + 1) as u64;
                self.start = s + off + 1;
                return Ok(Some((s, e)));
            }
            if self.end - self.start > MAX_RECORD_BYTES || !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Returns everything up to the next newline as garbage.
    fn garbage_line(&mut self) -> io::Result<Option<Frame<'_>>> {
        loop {
            if let Some(off) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let s = self.start;
                let e = s + off;
                self.consumed += (e + 1 - s) as u64;
                self.start = e + 1;
                return Ok(Some(Frame::Garbage(&self.buf[s..e])));
            }
            if self.end - self.start > MAX_RECORD_BYTES {
                return self.skip_to_next_record_line();
            }
            if !self.fill()? {
                return Ok(Some(self.rest_as_garbage()));
            }
        }
    }

    /// Drops a broken or oversized value up to the next line that starts with `{`, or the
    /// end, as one garbage frame.
    fn skip_to_next_record_line(&mut self) -> io::Result<Option<Frame<'_>>> {
        loop {
            let hay = &self.buf[self.start..self.end];
            if let Some(off) = memchr::memmem::find(hay, b"\n{") {
                self.consumed += (off + 1) as u64;
                self.start += off + 1;
                return Ok(Some(Frame::Garbage(b"")));
            }
            // Keep the last byte: it may be the newline of a "\n{" split across reads.
            let keep = self.end - 1;
            self.consumed += (keep - self.start) as u64;
            self.start = keep;
            if !self.fill()? {
                self.consumed += (self.end - self.start) as u64;
                self.start = self.end;
                return Ok(Some(Frame::Garbage(b"")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Result<String, String>> {
        let mut f = Framer::new(input);
        let mut out = Vec::new();
        while let Some(fr) = f.next_frame().unwrap() {
            out.push(match fr {
                Frame::Value(v) => Ok(String::from_utf8_lossy(v).into_owned()),
                Frame::Garbage(g) => Err(String::from_utf8_lossy(g).into_owned()),
            });
        }
        out
    }

    #[test]
    fn ndjson_lines_become_one_frame_each() {
        let got = frames(b"{\"a\":1}\n{\"b\":\"x}\\\"{\"}\n");
        assert_eq!(
            got,
            vec![Ok("{\"a\":1}".into()), Ok("{\"b\":\"x}\\\"{\"}".into())]
        );
    }

    #[test]
    fn pretty_printed_and_concatenated_values_are_framed() {
        let got = frames(b"  {\n  \"a\": {\n    \"b\": [1, 2]\n  }\n}{\"c\":2}");
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|g| g.is_ok()));
    }

    #[test]
    fn a_json_array_of_records_yields_its_elements() {
        let got = frames(b"[ {\"a\":1},\n {\"b\":2} ]\n");
        assert_eq!(got, vec![Ok("{\"a\":1}".into()), Ok("{\"b\":2}".into())]);
    }

    #[test]
    fn a_truncated_line_costs_one_record_not_the_rest_of_the_file() {
        let got = frames(b"{\"a\":1}\n{\"b\": {\"c\":\n{\"d\":4}\n");
        assert_eq!(got.len(), 3);
        assert!(got[0].is_ok());
        assert!(got[1].is_err());
        assert_eq!(got[2], Ok("{\"d\":4}".into()));
    }

    #[test]
    fn a_record_with_a_lost_quote_costs_one_record() {
        // The broken line is framed (NDJSON fast path) and left to the parser to reject.
        let got = frames(b"{\"a\":\"x}\n{\"b\":2}\n");
        assert_eq!(got.len(), 2);
        assert!(crate::normalize::parse_record(got[0].as_ref().unwrap().as_bytes()).is_err());
        assert_eq!(got[1], Ok("{\"b\":2}".into()));
        // Without a closing brace at the end of the line it is garbage, as before.
        let got = frames(b"{\"a\":\"x\n{\"b\":2}\n");
        assert!(got[0].is_err());
        assert_eq!(got[1], Ok("{\"b\":2}".into()));
    }

    #[test]
    fn compact_values_concatenated_on_one_line_are_still_split() {
        let got = frames(b"{\"a\":1}{\"b\":2}\n{\"c\":3}\n");
        assert_eq!(
            got,
            vec![
                Ok("{\"a\":1}".into()),
                Ok("{\"b\":2}".into()),
                Ok("{\"c\":3}".into())
            ]
        );
    }

    #[test]
    fn stray_text_is_one_garbage_frame_per_line() {
        let got = frames(b"hello world\n{\"a\":1}\nnot json\n");
        assert_eq!(got.len(), 3);
        assert!(got[0].is_err() && got[1].is_ok() && got[2].is_err());
    }

    #[test]
    fn records_larger_than_the_read_chunk_are_framed_whole() {
        let body = "x".repeat(3 * CHUNK);
        let input = format!("{{\"a\":\"{body}\"}}\n{{\"b\":1}}\n");
        let got = frames(input.as_bytes());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap().len(), body.len() + 8);
    }

    #[test]
    fn offset_counts_every_byte_consumed() {
        let input = b"{\"a\":1}\n{\"b\":2}\n";
        let mut f = Framer::new(&input[..]);
        while f.next_frame().unwrap().is_some() {}
        assert_eq!(f.offset(), input.len() as u64);
    }
}
