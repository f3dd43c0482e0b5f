//! Fast envelope reader: fills the same [`Record`] as serde does, but walks the bodies with a
//! hand-rolled structural scanner (eight bytes at a time for string ends) instead of serde_json's
//! token-by-token `RawValue` walk, the largest part of the parse cost at ~3 KB records.
//!
//! Owns: a strict JSON grammar check of the whole record and the location of the envelope
//! fields; the small leaves that are not plain strings or integers go to serde_json.
//! Must not: accept anything serde_json would reject or read differently. It answers `None`
//! for anything unusual (a raw control byte in a string, an escaped or duplicate known key,
//! nesting deeper than 100, any grammar error, a leaf serde refuses), and the caller then
//! parses with serde_json, which produces the rejection exactly as before.
use std::borrow::Cow;

use serde::Deserialize;

use super::body::token_hint;
use super::wire::{Identity, Input, JNum, JObj, JStr, JTags, MAX_COLLECTED_TAGS, Output, Record};

/// Deeper nesting is left to serde_json (whose limit is 128).
const MAX_DEPTH: u32 = 100;

/// The record and the [`token_hint`] bits of its request and response bodies, or `None` to
/// fall back to serde_json.
pub(crate) fn parse(text: &str) -> Option<(Record<'_>, [u16; 2])> {
    let b = text.as_bytes();
    let mut s = Scan {
        t: text,
        b,
        i: 0,
        hints: 0,
        body_hints: [0; 2],
    };
    let rec = s.record()?;
    s.ws();
    (s.i == b.len()).then_some((rec, s.body_hints))
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that is `"`, `\` or a control byte (below 0x20). A
/// borrow can only mark bytes above a real hit, so the lowest mark is exact.
///
/// Two tests, not three: `"` XOR 0x02 is 0x20, and a control byte XOR 0x02 stays below
/// 0x20, so "below 0x21 after XOR 0x02" finds both (and nothing else: 0x20 becomes 0x22,
/// 0x23 becomes 0x21); `\` has its own zero-byte test.
fn special(w: u64) -> u64 {
    let t = w ^ (ONES * 0x02);
    let bs = w ^ (ONES * u64::from(b'\\'));
    ((t.wrapping_sub(ONES * 0x21) & !t) | (bs.wrapping_sub(ONES) & !bs)) & HIGH
}

/// The position of the next `"`, `\` or control byte at or after `i`, eight bytes at a
/// time (escapes are frequent in bodies, so a short inline loop beats a SIMD call per hit).
fn next_special(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(chunk) = b.get(i..i + 8) {
        let m = special(u64::from_le_bytes(chunk.try_into().ok()?));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = b.get(i..)?;
    rest.iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| i + p)
}

/// Marks field `bit` of an object as read; `None` when it already was: a repeated known
/// field is serde's error to report, so the record falls back to serde.
fn first_time(seen: &mut u16, bit: u32) -> Option<()> {
    let mask = 1 << bit;
    if *seen & mask != 0 {
        return None;
    }
    *seen |= mask;
    Some(())
}

struct Scan<'a> {
    t: &'a str,
    b: &'a [u8],
    i: usize,
    /// [`token_hint`] bits of the strings read since the current body began.
    hints: u16,
    /// The hints of the request and response bodies.
    body_hints: [u16; 2],
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// JSON whitespace.
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek() == Some(c)).then(|| self.i += 1)
    }

    /// A string starting at `"`; returns its contents and whether it had escapes.
    fn string(&mut self) -> Option<(&'a str, bool)> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            let at = next_special(self.b, self.i)?;
            match self.b[at] {
                b'"' => {
                    self.i = at + 1;
                    self.hints |= token_hint(&self.b[start..at], escaped);
                    return Some((self.t.get(start..at)?, escaped));
                }
                b'\\' => {}
                _ => return None,
            }
            escaped = true;
            match *self.b.get(at + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i = at + 2,
                b'u' => {
                    let hex = self.b.get(at + 2..at + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    self.i = at + 6;
                }
                _ => return None,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        (self.b.get(self.i..self.i + word.len())? == word).then(|| self.i += word.len())
    }

    /// Skips one value (after optional whitespace), checking its grammar.
    fn value(&mut self, depth: u32) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    self.string()?;
                    self.eat(b':')?;
                    self.value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// Skips one value and returns its text.
    fn span(&mut self, depth: u32) -> Option<&'a str> {
        self.ws();
        let start = self.i;
        self.value(depth)?;
        self.t.get(start..self.i)
    }

    /// Iterates an object's members: `f(self, key)` must consume the value.
    fn members(
        &mut self,
        depth: u32,
        mut f: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.eat(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let (key, escaped) = self.string()?;
            if escaped {
                return None;
            }
            self.eat(b':')?;
            self.ws();
            f(self, key)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string leaf: plain strings and `null` directly, anything else through serde.
    fn jstr(&mut self, depth: u32) -> Option<JStr<'a>> {
        match self.peek()? {
            b'"' => {
                let start = self.i;
                let (s, escaped) = self.string()?;
                if escaped {
                    serde_json::from_str(self.t.get(start..self.i)?).ok()
                } else {
                    Some(JStr::Str(Cow::Borrowed(s)))
                }
            }
            b'n' => self.literal(b"null").map(|()| JStr::Null),
            _ => serde_json::from_str(self.span(depth)?).ok(),
        }
    }

    /// A count leaf: plain integers directly, anything else through serde.
    fn jnum(&mut self, depth: u32) -> Option<JNum> {
        let span = self.span(depth)?;
        if (1..=19).contains(&span.len()) && span.bytes().all(|c| c.is_ascii_digit()) {
            return span.parse().ok().map(JNum::Int);
        }
        serde_json::from_str(span).ok()
    }

    /// A small leaf of any other type, through serde.
    fn serde<T: Deserialize<'a>>(&mut self, depth: u32) -> Option<T> {
        serde_json::from_str(self.span(depth)?).ok()
    }

    /// A body: its raw text, `null` reading as absent; its hints go to `body_hints[which]`.
    fn body(&mut self, depth: u32, which: usize) -> Option<Option<&'a str>> {
        self.hints = 0;
        let span = self.span(depth)?;
        self.body_hints[which] = self.hints;
        Some((span != "null").then_some(span))
    }

    fn record(&mut self) -> Option<Record<'a>> {
        let mut r = Record::default();
        let mut seen = 0u16;
        let d = 1;
        self.members(0, |s, key| {
            let bit = match key {
                "schemaType" => 0,
                "timestamp" => 1,
                "accountId" => 2,
                "region" => 3,
                "inferenceRegion" => 4,
                "requestId" => 5,
                "operation" => 6,
                "modelId" => 7,
                "identity" => 8,
                "requestMetadata" => 9,
                "input" => 10,
                "output" => 11,
                _ => return s.value(d),
            };
            first_time(&mut seen, bit)?;
            match bit {
                0 => r.schema_type = s.jstr(d)?,
                1 => r.timestamp = s.jstr(d)?,
                2 => r.account_id = s.jstr(d)?,
                3 => r.region = s.jstr(d)?,
                4 => r.inference_region = s.jstr(d)?,
                5 => r.request_id = s.jstr(d)?,
                6 => r.operation = s.jstr(d)?,
                7 => r.model_id = s.jstr(d)?,
                8 => r.identity = s.identity(d)?,
                9 => r.request_metadata = s.tags(d)?,
                10 => r.input = s.input(d)?,
                _ => r.output = s.output(d)?,
            }
            Some(())
        })?;
        Some(r)
    }

    /// `identity`: an object's `arn` directly, anything else through serde.
    fn identity(&mut self, depth: u32) -> Option<JObj<Identity<'a>>> {
        if self.peek()? != b'{' {
            return self.serde(depth);
        }
        let mut v = Identity::default();
        let mut seen = 0u16;
        let d = depth + 1;
        self.members(depth, |s, key| {
            if key != "arn" {
                return s.value(d);
            }
            first_time(&mut seen, 0)?;
            v.arn = s.jstr(d)?;
            Some(())
        })?;
        Some(JObj::Val(v))
    }

    /// `requestMetadata`: an object's string pairs in order (as [`JTags`] keeps them),
    /// anything else through serde.
    fn tags(&mut self, depth: u32) -> Option<JTags<'a>> {
        if self.peek()? != b'{' {
            return self.serde(depth);
        }
        let mut pairs = Vec::new();
        let d = depth + 1;
        self.members(depth, |s, key| {
            if pairs.len() >= MAX_COLLECTED_TAGS {
                return s.value(d);
            }
            if let JStr::Str(value) = s.jstr(d)? {
                pairs.push((Cow::Borrowed(key), value));
            }
            Some(())
        })?;
        Some(JTags(pairs))
    }

    fn input(&mut self, depth: u32) -> Option<JObj<Input<'a>>> {
        if self.peek()? != b'{' {
            return self.serde(depth);
        }
        let mut v = Input::default();
        let mut seen = 0u16;
        let d = depth + 1;
        self.members(depth, |s, key| {
            let bit = match key {
                "inputBodyJson" => 0,
                "inputBodyS3Path" => 1,
                "inputTokenCount" => 2,
                "cacheReadInputTokenCount" => 3,
                "cacheWriteInputTokenCount" => 4,
                _ => return s.value(d),
            };
            first_time(&mut seen, bit)?;
            match bit {
                0 => v.body = s.body(d, 0)?,
                1 => v.s3_path = s.jstr(d)?,
                2 => v.input_tokens = s.jnum(d)?,
                3 => v.cache_read_tokens = s.jnum(d)?,
                _ => v.cache_write_tokens = s.jnum(d)?,
            }
            Some(())
        })?;
        Some(JObj::Val(v))
    }

    fn output(&mut self, depth: u32) -> Option<JObj<Output<'a>>> {
        if self.peek()? != b'{' {
            return self.serde(depth);
        }
        let mut v = Output::default();
        let mut seen = 0u16;
        let d = depth + 1;
        self.members(depth, |s, key| {
            let bit = match key {
                "outputBodyJson" => 0,
                "outputBodyS3Path" => 1,
                "outputTokenCount" => 2,
                _ => return s.value(d),
            };
            first_time(&mut seen, bit)?;
            match bit {
                0 => v.body = s.body(d, 1)?,
                1 => v.s3_path = s.jstr(d)?,
                _ => v.output_tokens = s.jnum(d)?,
            }
            Some(())
        })?;
        Some(JObj::Val(v))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::synth::{Synth, SynthConfig};

    /// The fast reader and serde agree on every record the fast reader accepts.
    fn same(text: &str) -> bool {
        let serde: Result<Record<'_>, _> = serde_json::from_str(text);
        match parse(text).map(|(rec, _)| rec) {
            Some(fast) => {
                let serde = serde.expect("fast reader accepted what serde rejects");
                assert_eq!(format!("{fast:?}"), format!("{serde:?}"), "{text}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn special_marks_the_first_quote_backslash_or_control_byte_of_a_word() {
        let first = |w: u64| (w != 0).then(|| (w.trailing_zeros() / 8) as usize);
        let want = |bytes: &[u8; 8]| {
            bytes
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        };
        // Every byte value in every lane, among neighbours on both sides of each boundary.
        for v in 0..=255u8 {
            for lane in 0..8 {
                for fill in [
                    b'A', 0x00, 0x1f, 0x20, 0x21, 0x23, b'[', b']', 0x7f, 0x80, 0xff,
                ] {
                    let mut bytes = [fill; 8];
                    bytes[lane] = v;
                    let w = u64::from_le_bytes(bytes);
                    assert_eq!(first(special(w)), want(&bytes), "{bytes:?}");
                }
            }
        }
        // And pseudo-random words (xorshift).
        let mut x: u64 = 0x1234_5678_9abc_def0;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            assert_eq!(first(special(x)), want(&x.to_le_bytes()), "{x:#018x}");
        }
    }

    #[test]
    fn agrees_with_serde_on_generated_records() {
        let mut synth = Synth::new(7, SynthConfig::bench_small());
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let (mut fast, mut total) = (0, 0);
        for _ in 0..2000 {
            let mut out = Vec::new();
            synth.record(at, &mut out);
            let line = std::str::from_utf8(&out).unwrap().trim_end();
            total += 1;
            if same(line) {
                fast += 1;
            }
        }
        // Only the planted malformed records may take the serde path.
        assert!(fast * 10 > total * 9, "{fast} of {total}");
    }

    #[test]
    fn agrees_with_serde_on_edge_cases_or_falls_back() {
        let ok = [
            r#"{"requestId":"a","input":{"inputTokenCount":3,"inputBodyJson":null},"output":{"outputBodyJson":[1,-2.5e+3,true,false,null,{"a":"\"\\\/\b\f\n\r\t\u00e9"}],"outputTokenCount":18446744073709551615}}"#,
            r#" { "requestId" : "a\"b" , "x" : { } , "y" : [ ] , "input" : 5 , "output" : null } "#,
            r#"{"requestId":1,"timestamp":null,"modelId":{"a":1},"region":[1],"identity":{"arn":"x"},"requestMetadata":{"k":"v","n":1}}"#,
            r#"{"input":{"inputTokenCount":-1,"cacheReadInputTokenCount":1.5,"cacheWriteInputTokenCount":"7","inputBodyS3Path":"s3://b/k"}}"#,
            r#"{"output":{"outputBodyJson":{"k":"é ü 😀"},"outputTokenCount":0}}"#,
            "\t{\"requestId\":\r\n\"a\"}\n",
            r#"{"identity":{"type":"x","arn":"arn:aws:iam::1:user/u","extra":{"arn":1}}}"#,
            r#"{"identity":{"arn":null}}"#,
            r#"{"identity":{"arn":7}}"#,
            r#"{"identity":{"arn":"a\"b"}}"#,
            r#"{"identity":{}}"#,
            r#"{"identity":[1]}"#,
            r#"{"requestMetadata":{"a":"1","b":2,"c":null,"d":{"x":"y"},"e":["z"],"a":"dup","f":"\u00e9\n"}}"#,
            r#"{"requestMetadata":{}}"#,
            r#"{"requestMetadata":["a","b"]}"#,
            r#"{"requestMetadata":"k=v"}"#,
        ];
        for t in ok {
            assert!(same(t), "fast reader refused {t}");
        }
        let fallback = [
            r#"{"requestId":"a","requestId":"b"}"#,
            r#"{"input":{"inputTokenCount":1,"inputTokenCount":2}}"#,
            r#"{"req\u0075estId":"a"}"#,
            "{\"requestId\":\"a\tb\"}",
            "{\"x\":\"abcdefghijklmnopqrstuvw\u{1}xyz\"}",
            "{\"x\":\"abcdefghijklmnop\\\"qrstuvw\\xyz\"}",
            r#"{"requestId":"a",}"#,
            r#"{"requestId":"a"} x"#,
            r#"{"x":01}"#,
            r#"{"x":1.}"#,
            r#"{"x":1e}"#,
            r#"{"x":"\x"}"#,
            r#"{"x":"\u12g4"}"#,
            r#"{"x":tru}"#,
            r#"{"x":[1,]}"#,
            r#"{"x":{"a"}}"#,
            r#"{"output":{"outputTokenCount":1e999}}"#,
            r#"{"requestId":"a""#,
            r#"{"requestId":"\ud800"}"#,
        ];
        for t in fallback {
            assert!(!same(t), "fast reader accepted {t}");
        }
        // Past the collection cap the rest of the pairs are skipped, the same either way.
        let many: Vec<String> = (0..1100).map(|i| format!("\"k{i}\":\"v\"")).collect();
        let capped = format!("{{\"requestMetadata\":{{{}}}}}", many.join(","));
        assert!(same(&capped));
        let fallback_too = [
            r#"{"identity":{"arn":"a","arn":"b"}}"#,
            r#"{"requestMetadata":{"te\u0061m":"x"}}"#,
        ];
        for t in fallback_too {
            assert!(!same(t), "fast reader accepted {t}");
        }
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(!same(&deep));
    }
}
