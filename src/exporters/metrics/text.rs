//! Writing the Prometheus text exposition format 0.0.4 by hand: family headers, escaped
//! label values and numbers.
use crate::money::Decimal;
use std::fmt::Write;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Metric type, as the `# TYPE` line spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Writes the `# HELP` and `# TYPE` lines of a family.
pub(super) fn header(out: &mut String, name: &str, kind: Kind, help: &str) {
    let kind = match kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
    };
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    // HELP text escapes backslash and newline only.
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push_str("\n# TYPE ");
    out.push_str(name);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
}

/// Appends a label value escaped per the format: backslash, double quote and newline.
pub(super) fn escape_into(out: &mut String, value: &str) {
    if !value.contains(['\\', '"', '\n']) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Appends `name="value"` pairs joined by commas (no braces).
pub(super) fn labels_into(out: &mut String, pairs: &[(&str, &str)]) {
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape_into(out, value);
        out.push('"');
    }
}

/// A sample value.
#[derive(Debug, Clone, Copy)]
pub(super) enum Value {
    /// An exact count.
    Int(u64),
    /// An exact decimal, written with all its digits (the scraper parses it to a float).
    Dec(Decimal),
    /// A float (durations, timestamps).
    Float(f64),
}

/// Writes one sample line: `name{labels,extra} value`. `labels` is a pre-rendered,
/// pre-escaped label list (may be empty); `extra` are further pairs to escape.
pub(super) fn sample(out: &mut String, name: &str, labels: &str, extra: &[(&str, &str)], v: Value) {
    out.push_str(name);
    if !labels.is_empty() || !extra.is_empty() {
        out.push('{');
        out.push_str(labels);
        if !labels.is_empty() && !extra.is_empty() {
            out.push(',');
        }
        labels_into(out, extra);
        out.push('}');
    }
    out.push(' ');
    value_into(out, v);
    out.push('\n');
}

fn value_into(out: &mut String, v: Value) {
    // Writing to a String cannot fail.
    let _ = match v {
        Value::Int(n) => {
            push_u64(out, n);
            Ok(())
        }
        Value::Dec(d) => write!(out, "{}", d.normalize()),
        Value::Float(f) if f.is_nan() => write!(out, "NaN"),
        Value::Float(f) if f == f64::INFINITY => write!(out, "+Inf"),
        Value::Float(f) if f == f64::NEG_INFINITY => write!(out, "-Inf"),
        // Rust prints the shortest decimal that reads back as the same f64, never with an
        // exponent, which the format's float parser accepts.
        Value::Float(f) => write!(out, "{f}"),
    };
}

/// Appends the decimal digits of `n` (the hot path of a render: most samples are counts).
fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        let mut s = String::new();
        escape_into(&mut s, "a\\b\"c\nd\te");
        assert_eq!(s, "a\\\\b\\\"c\\nd\te");
        let mut s = String::new();
        labels_into(&mut s, &[("a", "x\"y"), ("b", "")]);
        assert_eq!(s, r#"a="x\"y",b="""#);
    }

    #[test]
    fn values_are_exact_and_parseable() {
        let mut s = String::new();
        sample(&mut s, "m", "", &[], Value::Int(u64::MAX));
        sample(&mut s, "m", "", &[], Value::Int(0));
        sample(
            &mut s,
            "m",
            "a=\"1\"",
            &[("b", "2")],
            Value::Dec(Decimal::from_str("0.001230").unwrap()),
        );
        sample(
            &mut s,
            "m",
            "",
            &[("le", "+Inf")],
            Value::Float(f64::INFINITY),
        );
        sample(&mut s, "m", "", &[], Value::Float(1e-7));
        sample(&mut s, "m", "", &[], Value::Float(f64::NAN));
        assert_eq!(
            s,
            "m 18446744073709551615\nm 0\nm{a=\"1\",b=\"2\"} 0.00123\nm{le=\"+Inf\"} +Inf\n\
             m 0.0000001\nm NaN\n"
        );
    }

    #[test]
    fn help_escapes_backslash_and_newline() {
        let mut s = String::new();
        header(&mut s, "x_total", Kind::Counter, "a\\b\nc \"q\"");
        assert_eq!(
            s,
            "# HELP x_total a\\\\b\\nc \"q\"\n# TYPE x_total counter\n"
        );
    }
}
