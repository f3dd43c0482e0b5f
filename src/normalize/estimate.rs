//! The tokenizer estimate for records that carry no token counts anywhere: the text fields of
//! the inline bodies counted with tiktoken's `o200k_base` (not the models' own tokenizers, so
//! the result is flagged [`CountSource::Estimated`](super::CountSource::Estimated)).
//!
//! Owns: which body fields are text (Converse `messages[].content[].text`, `system[].text`,
//! `output.message.content[].text`; Anthropic `messages[].content`, `system`, `content[].text`,
//! `completion`, stream text deltas; `prompt`, `inputText`, `generation`, `outputText`,
//! `results[].outputText`) and the lazily built, process-wide encoder.
//! Must not: run unless the caller found no counts in the envelope or the body (it costs about
//! a millisecond per 15 KB), keep or return any text, or count non-text fields (images, tool
//! schemas, parameters).
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tiktoken_rs::CoreBPE;

use super::wire::{JList, JObj, JStr};

/// The encoder, built on first use (building it takes tens of milliseconds).
static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();

/// Tokens in `text` under `o200k_base`; about 4 bytes per token if the encoder is unavailable.
///
/// Counted in pieces (see `estimate::count_prompt`): tiktoken-rs panics on a single
/// whitespace run of about 500,000 characters, and a log record must never crash ingest.
fn count(text: &str) -> u64 {
    crate::estimate::count_prompt(text).unwrap_or_else(|| (text.len() as u64).div_ceil(4))
}

impl crate::estimate::O200kBase {
    /// Tokens in `text` under `o200k_base`, from the same process-wide encoder as the ingest
    /// estimate above (defined here because this module owns the encoder; `normalize::estimate`
    /// is private). `None` when the encoder cannot be built: unlike `count` there is no
    /// bytes/4 fallback, because `bedrock-meter estimate` names the encoding it reports.
    pub fn count(text: &str) -> Option<u64> {
        O200K
            .get_or_init(|| tiktoken_rs::o200k_base().ok())
            .as_ref()
            .map(|bpe| bpe.encode_ordinary(text).len() as u64)
    }
}

/// Estimated `(input, output)` tokens from the inline bodies, or `None` when neither has any
/// text field to count.
pub(crate) fn estimate(input: Option<&str>, output: Option<&str>) -> Option<(u64, u64)> {
    let input = input.and_then(input_text);
    let output = output.and_then(output_text);
    if input.is_none() && output.is_none() {
        return None;
    }
    Some((
        input.as_deref().map_or(0, count),
        output.as_deref().map_or(0, count),
    ))
}

/// Text gathered from a body; `found` stays false when no text field was present at all.
#[derive(Default)]
struct Sink {
    buf: String,
    found: bool,
}

impl Sink {
    /// A separate piece of text (a message, a block).
    fn piece(&mut self, s: &str) {
        if !self.buf.is_empty() && !s.is_empty() {
            self.buf.push('\n');
        }
        self.buf.push_str(s);
        self.found = true;
    }

    /// A continuation of the previous piece (a stream delta).
    fn delta(&mut self, s: &str) {
        self.buf.push_str(s);
        self.found = true;
    }

    fn str(&mut self, s: &JStr<'_>) {
        if let Some(s) = s.as_str() {
            self.piece(s);
        }
    }

    fn text(&mut self, t: &Text<'_>) {
        for s in &t.0 {
            self.piece(s);
        }
    }

    fn finish(self) -> Option<String> {
        self.found.then_some(self.buf)
    }
}

/// A block with a `text` field.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TextBlock<'a> {
    #[serde(borrow)]
    text: JStr<'a>,
}

/// A content value: a string, or an array of blocks whose `text` fields are kept.
#[derive(Debug, Default)]
struct Text<'a>(Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(vec![Cow::Borrowed(v)]))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(vec![Cow::Owned(v.to_owned())]))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(vec![Cow::Owned(v)]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text<'a>, A::Error> {
                let mut v = Vec::new();
                while let Some(b) = seq.next_element::<JObj<TextBlock<'a>>>()? {
                    if let JObj::Val(TextBlock { text: JStr::Str(s) }) = b {
                        v.push(s);
                    }
                }
                Ok(Text(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text::default())
            }
            fn visit_unit<E>(self) -> Result<Text<'a>, E> {
                Ok(Text::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Text<'a>, E> {
                Ok(Text::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Text<'a>, E> {
                Ok(Text::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Text<'a>, E> {
                Ok(Text::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Text<'a>, E> {
                Ok(Text::default())
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A chat message (Converse or Anthropic).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Message<'a> {
    #[serde(borrow)]
    content: Text<'a>,
}

/// The text fields of a request body.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InputText<'a> {
    #[serde(borrow)]
    messages: JList<JObj<Message<'a>>>,
    #[serde(borrow)]
    system: Text<'a>,
    #[serde(borrow)]
    prompt: JStr<'a>,
    #[serde(rename = "inputText", borrow)]
    input_text: JStr<'a>,
    /// Cohere embed.
    #[serde(borrow)]
    texts: JList<JStr<'a>>,
}

fn input_text(raw: &str) -> Option<String> {
    let JObj::Val(body) = serde_json::from_str::<JObj<InputText<'_>>>(raw).ok()? else {
        return None;
    };
    let mut sink = Sink::default();
    sink.text(&body.system);
    for m in body.messages.0.iter().filter_map(JObj::get) {
        sink.text(&m.content);
    }
    sink.str(&body.prompt);
    sink.str(&body.input_text);
    for t in &body.texts.0 {
        sink.str(t);
    }
    sink.finish()
}

/// Converse `output`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConverseOutput<'a> {
    #[serde(borrow)]
    message: JObj<Message<'a>>,
}

/// Titan `results[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TitanResult<'a> {
    #[serde(rename = "outputText", borrow)]
    output_text: JStr<'a>,
}

/// Converse stream `contentBlockDelta`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContentBlockDelta<'a> {
    #[serde(borrow)]
    delta: JObj<TextBlock<'a>>,
}

/// The text fields of a response body or of one stream chunk.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OutputText<'a> {
    #[serde(borrow)]
    output: JObj<ConverseOutput<'a>>,
    #[serde(borrow)]
    content: Text<'a>,
    #[serde(borrow)]
    completion: JStr<'a>,
    #[serde(borrow)]
    generation: JStr<'a>,
    #[serde(rename = "outputText", borrow)]
    output_text: JStr<'a>,
    #[serde(borrow)]
    results: JList<JObj<TitanResult<'a>>>,
    /// Anthropic `content_block_delta.delta.text`.
    #[serde(borrow)]
    delta: JObj<TextBlock<'a>>,
    /// Anthropic `content_block_start.content_block.text`.
    #[serde(borrow)]
    content_block: JObj<TextBlock<'a>>,
    #[serde(rename = "contentBlockDelta", borrow)]
    content_block_delta: JObj<ContentBlockDelta<'a>>,
}

impl OutputText<'_> {
    /// Adds this node's text: whole pieces for an object body, deltas for stream chunks.
    fn drain_into(&self, sink: &mut Sink, stream: bool) {
        let mut add = |s: Option<&str>| {
            if let Some(s) = s {
                if stream { sink.delta(s) } else { sink.piece(s) }
            }
        };
        if let Some(m) = self.output.get().and_then(|o| o.message.get()) {
            for s in &m.content.0 {
                add(Some(s));
            }
        }
        for s in &self.content.0 {
            add(Some(s));
        }
        add(self.completion.as_str());
        add(self.generation.as_str());
        add(self.output_text.as_str());
        for r in self.results.0.iter().filter_map(JObj::get) {
            add(r.output_text.as_str());
        }
        if let Some(d) = self.delta.get() {
            add(d.text.as_str());
        }
        if let Some(b) = self.content_block.get() {
            add(b.text.as_str());
        }
        if let Some(d) = self.content_block_delta.get().and_then(|c| c.delta.get()) {
            add(d.text.as_str());
        }
    }
}

fn output_text(raw: &str) -> Option<String> {
    struct Gathered(Sink);
    impl<'de> Deserialize<'de> for Gathered {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(GatherVisitor)
        }
    }
    struct GatherVisitor;
    impl<'de> Visitor<'de> for GatherVisitor {
        type Value = Gathered;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a response body")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Gathered, A::Error> {
            let node = OutputText::deserialize(MapAccessDeserializer::new(map))?;
            let mut sink = Sink::default();
            node.drain_into(&mut sink, false);
            Ok(Gathered(sink))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Gathered, A::Error> {
            let mut sink = Sink::default();
            while let Some(chunk) = seq.next_element::<JObj<OutputText<'de>>>()? {
                if let JObj::Val(node) = chunk {
                    node.drain_into(&mut sink, true);
                }
            }
            Ok(Gathered(sink))
        }
        fn visit_str<E>(self, _: &str) -> Result<Gathered, E> {
            Ok(Gathered(Sink::default()))
        }
        fn visit_unit<E>(self) -> Result<Gathered, E> {
            Ok(Gathered(Sink::default()))
        }
        fn visit_bool<E>(self, _: bool) -> Result<Gathered, E> {
            Ok(Gathered(Sink::default()))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Gathered, E> {
            Ok(Gathered(Sink::default()))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Gathered, E> {
            Ok(Gathered(Sink::default()))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Gathered, E> {
            Ok(Gathered(Sink::default()))
        }
    }
    serde_json::from_str::<Gathered>(raw).ok()?.0.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoder_is_o200k_base() {
        assert_eq!(count("Hello, world!"), 4);
        assert_eq!(count(""), 0);
    }

    #[test]
    fn converse_request_text_is_messages_and_system() {
        let t = input_text(
            r#"{"system":[{"text":"Be brief."}],"messages":[{"role":"user","content":
               [{"text":"Hi"},{"image":{"format":"png","source":{"bytes":"AAAA"}}},{"text":"there"}]}],
               "inferenceConfig":{"maxTokens":10}}"#,
        );
        assert_eq!(t.as_deref(), Some("Be brief.\nHi\nthere"));
    }

    #[test]
    fn anthropic_request_text_accepts_string_and_block_content() {
        let t = input_text(
            r#"{"anthropic_version":"bedrock-2023-05-31","system":"Sys","messages":[
               {"role":"user","content":"a"},{"role":"assistant","content":[{"type":"text","text":"b"}]}]}"#,
        );
        assert_eq!(t.as_deref(), Some("Sys\na\nb"));
        assert_eq!(
            input_text(r#"{"inputText":"User: hi"}"#).as_deref(),
            Some("User: hi")
        );
        assert_eq!(input_text(r#"{"prompt":"p"}"#).as_deref(), Some("p"));
    }

    #[test]
    fn response_text_covers_converse_anthropic_titan_and_legacy_shapes() {
        let cases = [
            (
                r#"{"output":{"message":{"content":[{"text":"A"},{"text":"B"}]}},"usage":{}}"#,
                "A\nB",
            ),
            (
                r#"{"type":"message","content":[{"type":"text","text":"C"}]}"#,
                "C",
            ),
            (r#"{"completion":"D","stop_reason":"x"}"#, "D"),
            (r#"{"generation":"E"}"#, "E"),
            (r#"{"results":[{"outputText":"F","tokenCount":1}]}"#, "F"),
            (
                r#"[{"type":"message_start","message":{"content":[]}},
                   {"type":"content_block_delta","delta":{"type":"text_delta","text":"Hel"}},
                   {"type":"content_block_delta","delta":{"type":"text_delta","text":"lo"}},
                   {"type":"message_delta","delta":{"stop_reason":"end_turn"}}]"#,
                "Hello",
            ),
            (
                r#"[{"outputText":" Hi"},{"outputText":" there"}]"#,
                " Hi there",
            ),
            (r#"[{"completion":" Hello"},{"completion":"!"}]"#, " Hello!"),
            (r#"[{"contentBlockDelta":{"delta":{"text":"G"}}}]"#, "G"),
        ];
        for (body, want) in cases {
            assert_eq!(output_text(body).as_deref(), Some(want), "{body}");
        }
    }

    #[test]
    fn bodies_without_text_fields_give_no_estimate() {
        assert_eq!(
            estimate(Some(r#"{"taskType":"TEXT_IMAGE"}"#), Some("{}")),
            None
        );
        assert_eq!(estimate(None, None), None);
        assert_eq!(estimate(Some("[1,2]"), Some(r#""x""#)), None);
    }

    #[test]
    fn the_estimate_counts_each_side_separately() {
        let e = estimate(
            Some(r#"{"messages":[{"role":"user","content":[{"text":"Hello, world!"}]}]}"#),
            None,
        );
        assert_eq!(e, Some((4, 0)));
    }
}
