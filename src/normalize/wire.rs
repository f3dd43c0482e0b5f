//! Wire structs: borrowed serde mirrors of the `ModelInvocationLog` envelope, and the lenient
//! leaf types ([`JStr`], [`JNum`], [`JObj`], [`JList`], [`ArrLen`], [`JTags`]) that the body
//! parsers in the sibling modules reuse.
//!
//! Owns: the shape of the record as it arrives (any field order, unknown fields ignored) and a
//! classification of every leaf (missing, null, right type, wrong type) so that the caller can
//! name the offending field in a rejection.
//! Must not: interpret values (model ids, tokens, timestamps are the caller's job), build a
//! `serde_json::Value`, copy bodies (they stay raw text via `RawValue`, scanned once and never
//! materialized), or fail on a leaf of the wrong type: leaves record that instead, because a
//! serde error message could echo body content and cannot name the field.
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Consumes the rest of a map (serde_json requires a visitor to read every entry).
fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Consumes the rest of a sequence.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A JSON value that should be a string, classified instead of rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum JStr<'a> {
    /// The key was absent.
    #[default]
    Missing,
    /// `null`.
    Null,
    /// A string (borrowed from the input when it had no escapes).
    Str(Cow<'a, str>),
    /// Any other JSON type.
    Wrong,
}

impl<'a> JStr<'a> {
    /// The string, if it was one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            JStr::Str(s) => Some(s),
            _ => None,
        }
    }

    /// True when the value is the string `s`.
    pub(crate) fn is(&self, s: &str) -> bool {
        self.as_str() == Some(s)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = JStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JStr::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JStr::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(JStr::Str(Cow::Owned(v)))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(JStr::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(JStr::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(JStr::Wrong)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(JStr::Wrong)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(JStr::Wrong)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(JStr::Wrong)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map)?;
                Ok(JStr::Wrong)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq)?;
                Ok(JStr::Wrong)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A JSON value that should be a non-negative integer (a token or image count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum JNum {
    /// The key was absent.
    #[default]
    Missing,
    /// `null`.
    Null,
    /// A non-negative integer.
    Int(u64),
    /// A negative integer.
    Negative,
    /// A float, string, bool, object or array.
    Wrong,
}

impl JNum {
    /// True when a value (of any kind but `null`) was written.
    pub(crate) fn is_present(self) -> bool {
        !matches!(self, JNum::Missing | JNum::Null)
    }

    /// The integer, if it was a non-negative integer.
    pub(crate) fn int(self) -> Option<u64> {
        match self {
            JNum::Int(v) => Some(v),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for JNum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JNum;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_u64<E>(self, v: u64) -> Result<JNum, E> {
                Ok(JNum::Int(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<JNum, E> {
                Ok(u64::try_from(v).map_or(JNum::Negative, JNum::Int))
            }
            fn visit_f64<E>(self, _: f64) -> Result<JNum, E> {
                Ok(JNum::Wrong)
            }
            fn visit_bool<E>(self, _: bool) -> Result<JNum, E> {
                Ok(JNum::Wrong)
            }
            fn visit_str<E>(self, _: &str) -> Result<JNum, E> {
                Ok(JNum::Wrong)
            }
            fn visit_unit<E>(self) -> Result<JNum, E> {
                Ok(JNum::Null)
            }
            fn visit_none<E>(self) -> Result<JNum, E> {
                Ok(JNum::Null)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<JNum, A::Error> {
                drain_map(map)?;
                Ok(JNum::Wrong)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<JNum, A::Error> {
                drain_seq(seq)?;
                Ok(JNum::Wrong)
            }
        }
        d.deserialize_any(V)
    }
}

/// A JSON value that should be an object, deserialized as `T` only when it is one (a derived
/// struct would otherwise also accept an array positionally).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum JObj<T> {
    /// The key was absent.
    #[default]
    Missing,
    /// `null`.
    Null,
    /// Not an object.
    Wrong,
    /// The object.
    Val(T),
}

impl<T> JObj<T> {
    /// The object, if it was one.
    pub(crate) fn get(&self) -> Option<&T> {
        match self {
            JObj::Val(v) => Some(v),
            _ => None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for JObj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = JObj<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<JObj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(JObj::Val)
            }
            fn visit_unit<E>(self) -> Result<JObj<T>, E> {
                Ok(JObj::Null)
            }
            fn visit_none<E>(self) -> Result<JObj<T>, E> {
                Ok(JObj::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<JObj<T>, E> {
                Ok(JObj::Wrong)
            }
            fn visit_i64<E>(self, _: i64) -> Result<JObj<T>, E> {
                Ok(JObj::Wrong)
            }
            fn visit_u64<E>(self, _: u64) -> Result<JObj<T>, E> {
                Ok(JObj::Wrong)
            }
            fn visit_f64<E>(self, _: f64) -> Result<JObj<T>, E> {
                Ok(JObj::Wrong)
            }
            fn visit_str<E>(self, _: &str) -> Result<JObj<T>, E> {
                Ok(JObj::Wrong)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<JObj<T>, A::Error> {
                drain_seq(seq)?;
                Ok(JObj::Wrong)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A JSON value that should be an array of `T`; anything else reads as empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JList<T>(pub(crate) Vec<T>);

impl<T> Default for JList<T> {
    fn default() -> Self {
        JList(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for JList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = JList<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JList<T>, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element::<T>()? {
                    v.push(x);
                }
                Ok(JList(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<JList<T>, A::Error> {
                drain_map(map)?;
                Ok(JList::default())
            }
            fn visit_unit<E>(self) -> Result<JList<T>, E> {
                Ok(JList::default())
            }
            fn visit_none<E>(self) -> Result<JList<T>, E> {
                Ok(JList::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<JList<T>, E> {
                Ok(JList::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<JList<T>, E> {
                Ok(JList::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<JList<T>, E> {
                Ok(JList::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<JList<T>, E> {
                Ok(JList::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<JList<T>, E> {
                Ok(JList::default())
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The length of a JSON array whose elements are skipped unread (e.g. base64 images); `None`
/// when the value is absent or not an array.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ArrLen(pub(crate) Option<u64>);

impl<'de> Deserialize<'de> for ArrLen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ArrLen;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ArrLen, A::Error> {
                let mut n = 0u64;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(ArrLen(Some(n)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ArrLen, A::Error> {
                drain_map(map)?;
                Ok(ArrLen(None))
            }
            fn visit_unit<E>(self) -> Result<ArrLen, E> {
                Ok(ArrLen(None))
            }
            fn visit_none<E>(self) -> Result<ArrLen, E> {
                Ok(ArrLen(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<ArrLen, E> {
                Ok(ArrLen(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<ArrLen, E> {
                Ok(ArrLen(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<ArrLen, E> {
                Ok(ArrLen(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<ArrLen, E> {
                Ok(ArrLen(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<ArrLen, E> {
                Ok(ArrLen(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// At most this many `requestMetadata` pairs are read from one record (AWS allows 16); the
/// rest are skipped unread.
pub(crate) const MAX_COLLECTED_TAGS: usize = 1024;

/// `requestMetadata`: the string→string pairs in input order. Pairs whose value is not a
/// string are skipped; a value that is not an object reads as no pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct JTags<'a>(pub(crate) Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> Deserialize<'de> for JTags<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = JTags<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JTags<'a>, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = map.next_key::<JStr<'a>>()? {
                    if v.len() >= MAX_COLLECTED_TAGS {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    let val = map.next_value::<JStr<'a>>()?;
                    if let (JStr::Str(k), JStr::Str(val)) = (k, val) {
                        v.push((k, val));
                    }
                }
                Ok(JTags(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<JTags<'a>, A::Error> {
                drain_seq(seq)?;
                Ok(JTags::default())
            }
            fn visit_unit<E>(self) -> Result<JTags<'a>, E> {
                Ok(JTags::default())
            }
            fn visit_none<E>(self) -> Result<JTags<'a>, E> {
                Ok(JTags::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<JTags<'a>, E> {
                Ok(JTags::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<JTags<'a>, E> {
                Ok(JTags::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<JTags<'a>, E> {
                Ok(JTags::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<JTags<'a>, E> {
                Ok(JTags::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<JTags<'a>, E> {
                Ok(JTags::default())
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The record envelope. Bodies are captured as raw JSON text and never parsed here.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Record<'a> {
    /// `schemaType`.
    #[serde(rename = "schemaType", borrow)]
    pub(crate) schema_type: JStr<'a>,
    /// `timestamp`.
    #[serde(borrow)]
    pub(crate) timestamp: JStr<'a>,
    /// `accountId`.
    #[serde(rename = "accountId", borrow)]
    pub(crate) account_id: JStr<'a>,
    /// `region`.
    #[serde(borrow)]
    pub(crate) region: JStr<'a>,
    /// `inferenceRegion`.
    #[serde(rename = "inferenceRegion", borrow)]
    pub(crate) inference_region: JStr<'a>,
    /// `requestId`.
    #[serde(rename = "requestId", borrow)]
    pub(crate) request_id: JStr<'a>,
    /// `operation`.
    #[serde(borrow)]
    pub(crate) operation: JStr<'a>,
    /// `modelId`.
    #[serde(rename = "modelId", borrow)]
    pub(crate) model_id: JStr<'a>,
    /// `identity`.
    #[serde(borrow)]
    pub(crate) identity: JObj<Identity<'a>>,
    /// `requestMetadata`.
    #[serde(rename = "requestMetadata", borrow)]
    pub(crate) request_metadata: JTags<'a>,
    /// `input`.
    #[serde(borrow)]
    pub(crate) input: JObj<Input<'a>>,
    /// `output`.
    #[serde(borrow)]
    pub(crate) output: JObj<Output<'a>>,
}

/// A body as its raw JSON text (`RawValue`: scanned by serde, never materialized); `null`
/// reads as `None`.
fn raw_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de str>, D::Error> {
    Ok(Option::<&'de RawValue>::deserialize(d)?.map(RawValue::get))
}

/// `identity`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Identity<'a> {
    /// `identity.arn`.
    #[serde(borrow)]
    pub(crate) arn: JStr<'a>,
}

/// `input`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Input<'a> {
    /// `input.inputBodyJson` (raw; `null` reads as `None`).
    #[serde(rename = "inputBodyJson", borrow, deserialize_with = "raw_text")]
    pub(crate) body: Option<&'a str>,
    /// `input.inputBodyS3Path`.
    #[serde(rename = "inputBodyS3Path", borrow)]
    pub(crate) s3_path: JStr<'a>,
    /// `input.inputTokenCount`.
    #[serde(rename = "inputTokenCount")]
    pub(crate) input_tokens: JNum,
    /// `input.cacheReadInputTokenCount`.
    #[serde(rename = "cacheReadInputTokenCount")]
    pub(crate) cache_read_tokens: JNum,
    /// `input.cacheWriteInputTokenCount`.
    #[serde(rename = "cacheWriteInputTokenCount")]
    pub(crate) cache_write_tokens: JNum,
}

/// `output`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Output<'a> {
    /// `output.outputBodyJson` (raw: object, array of stream chunks, or anything else).
    #[serde(rename = "outputBodyJson", borrow, deserialize_with = "raw_text")]
    pub(crate) body: Option<&'a str>,
    /// `output.outputBodyS3Path`.
    #[serde(rename = "outputBodyS3Path", borrow)]
    pub(crate) s3_path: JStr<'a>,
    /// `output.outputTokenCount`.
    #[serde(rename = "outputTokenCount")]
    pub(crate) output_tokens: JNum,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_types_classify_every_json_type_without_failing() {
        #[derive(Deserialize)]
        struct T<'a> {
            #[serde(borrow)]
            s: Vec<JStr<'a>>,
            n: Vec<JNum>,
        }
        let t: T<'_> = serde_json::from_str(
            r#"{"s":["a","b\"c",null,1,true,{"x":[1]},[2]],
                "n":[5,-1,1.5,"7",null,{"a":1},[1],18446744073709551615]}"#,
        )
        .unwrap();
        assert!(matches!(t.s[0], JStr::Str(Cow::Borrowed("a"))));
        assert_eq!(t.s[1].as_str(), Some("b\"c"));
        assert_eq!(t.s[2], JStr::Null);
        assert!(t.s[3..].iter().all(|s| *s == JStr::Wrong));
        assert_eq!(
            t.n,
            vec![
                JNum::Int(5),
                JNum::Negative,
                JNum::Wrong,
                JNum::Wrong,
                JNum::Null,
                JNum::Wrong,
                JNum::Wrong,
                JNum::Int(u64::MAX)
            ]
        );
    }

    #[test]
    fn an_object_wrapper_refuses_arrays_instead_of_reading_them_positionally() {
        let v: Vec<JObj<Identity<'_>>> =
            serde_json::from_str(r#"[{"arn":"x"},["y"],"z",null]"#).unwrap();
        assert!(v[0].get().is_some_and(|i| i.arn.is("x")));
        assert_eq!(
            v[1..].iter().map(|o| o.get().is_none()).collect::<Vec<_>>(),
            vec![true, true, true]
        );
        assert!(matches!(v[3], JObj::Null));
    }

    #[test]
    fn array_length_is_counted_without_reading_the_elements() {
        let v: Vec<ArrLen> = serde_json::from_str(r#"[["a","b",{"c":1}],[],"x",null]"#).unwrap();
        assert_eq!(
            v,
            vec![ArrLen(Some(3)), ArrLen(Some(0)), ArrLen(None), ArrLen(None)]
        );
    }

    #[test]
    fn request_metadata_keeps_string_pairs_and_skips_others() {
        let t: JTags<'_> = serde_json::from_str(r#"{"a":"1","b":2,"c":null,"d":"x"}"#).unwrap();
        let pairs: Vec<(&str, &str)> = t.0.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert_eq!(pairs, vec![("a", "1"), ("d", "x")]);
        let t: JTags<'_> = serde_json::from_str(r#"["a"]"#).unwrap();
        assert!(t.0.is_empty());
    }

    #[test]
    fn bodies_stay_raw_and_null_bodies_read_as_absent() {
        let i: Input<'_> =
            serde_json::from_str(r#"{"inputBodyJson":{"messages":[1,2]},"inputTokenCount":3}"#)
                .unwrap();
        assert_eq!(i.body, Some(r#"{"messages":[1,2]}"#));
        let o: Output<'_> = serde_json::from_str(r#"{"outputBodyJson":null}"#).unwrap();
        assert!(o.body.is_none());
    }
}
