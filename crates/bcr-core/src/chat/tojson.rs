//! The `tojson` filter as `transformers` defines it for chat templates:
//! Python's `json.dumps(x, ensure_ascii=False, indent=indent,
//! separators=None, sort_keys=sort_keys)`. So `", "` and `": "` separate
//! items without indent, `","` and newlines with it, non-ASCII text stays
//! as is, and nothing is HTML-escaped (minijinja's own `tojson` differs on
//! all three). Map keys keep the order minijinja stores them in.

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Error, ErrorKind, Value};

/// `{{ x | tojson }}`, `{{ x | tojson(indent=4) }}`; also accepts
/// `ensure_ascii` and `sort_keys` keyword arguments.
pub(super) fn filter(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let opts = Opts {
        indent,
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(false),
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    let mut out = String::new();
    write_value(&mut out, value, &opts, 0)?;
    Ok(Value::from_safe_string(out))
}

struct Opts {
    indent: Option<usize>,
    ensure_ascii: bool,
    sort_keys: bool,
}

fn write_value(out: &mut String, value: &Value, opts: &Opts, level: usize) -> Result<(), Error> {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => write_number(out, value),
        ValueKind::String => write_string(out, value.as_str().unwrap_or_default(), opts),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter()?.collect();
            write_container(out, '[', ']', &items, opts, level, |out, item, level| {
                write_value(out, item, opts, level)
            })?;
        }
        ValueKind::Map => {
            let mut keys: Vec<Value> = value.try_iter()?.collect();
            if opts.sort_keys {
                keys.sort();
            }
            write_container(out, '{', '}', &keys, opts, level, |out, key, level| {
                write_string(out, &key_text(key), opts);
                out.push_str(": ");
                write_value(out, &value.get_item(key)?, opts, level)
            })?;
        }
        kind => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("tojson: cannot serialize a value of kind {kind}"),
            ))
        }
    }
    Ok(())
}

/// Writes `[a, b]` / `{..}`, or the indented form when `indent` is set.
fn write_container<F>(
    out: &mut String,
    open: char,
    close: char,
    items: &[Value],
    opts: &Opts,
    level: usize,
    mut write_item: F,
) -> Result<(), Error>
where
    F: FnMut(&mut String, &Value, usize) -> Result<(), Error>,
{
    out.push(open);
    if items.is_empty() {
        out.push(close);
        return Ok(());
    }
    for (i, item) in items.iter().enumerate() {
        match opts.indent {
            Some(width) => {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                out.push_str(&" ".repeat(width * (level + 1)));
            }
            None if i > 0 => out.push_str(", "),
            None => {}
        }
        write_item(out, item, level + 1)?;
    }
    if let Some(width) = opts.indent {
        out.push('\n');
        out.push_str(&" ".repeat(width * level));
    }
    out.push(close);
    Ok(())
}

/// Python turns non-string keys into strings: `1 -> "1"`, `None -> "null"`.
fn key_text(key: &Value) -> String {
    match key.kind() {
        ValueKind::String => key.as_str().unwrap_or_default().to_string(),
        ValueKind::None | ValueKind::Undefined => "null".into(),
        ValueKind::Bool => if key.is_true() { "true" } else { "false" }.into(),
        _ => {
            let mut s = String::new();
            write_number(&mut s, key);
            s
        }
    }
}

/// Integers as digits; floats as Python's `repr` (`1.0`, `1e-06`, `NaN`).
fn write_number(out: &mut String, value: &Value) {
    if value.is_integer() {
        out.push_str(&value.to_string());
        return;
    }
    let x = f64::try_from(value.clone()).unwrap_or(f64::NAN);
    out.push_str(&python_float_repr(x));
}

fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = x.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Rust: "1e-6" / "1.5e20"; Python: "1e-06" / "1.5e+20".
        let s = format!("{x:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    let s = format!("{x}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

fn write_string(out: &mut String, s: &str, opts: &Opts) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (opts.ensure_ascii && (c as u32) > 0x7e) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use minijinja::{context, Environment};

    fn render(expr: &str, ctx: minijinja::Value) -> String {
        let mut env = Environment::new();
        env.add_filter("tojson", super::filter);
        env.render_str(&format!("{{{{ {expr} }}}}"), ctx).unwrap()
    }

    #[test]
    fn matches_python_json_dumps() {
        // Expected strings from Python 3.11: json.dumps(x, ensure_ascii=False,
        // sort_keys=True, indent=i) (minijinja maps iterate in key order, so
        // the Python side sorts to compare like with like).
        let x = serde_json::json!({"name": "f", "args": [1, 2.5, null, true], "s": "a\"b\n<é>"});
        let v = minijinja::Value::from_serialize(&x);
        assert_eq!(
            render("x | tojson", context! { x => v.clone() }),
            r#"{"args": [1, 2.5, null, true], "name": "f", "s": "a\"b\n<é>"}"#
        );
        assert_eq!(
            render("x | tojson(indent=2)", context! { x => v.clone() }),
            "{\n  \"args\": [\n    1,\n    2.5,\n    null,\n    true\n  ],\n  \"name\": \"f\",\n  \"s\": \"a\\\"b\\n<é>\"\n}"
        );
        assert_eq!(render("x | tojson(ensure_ascii=true)", context! { x => "é😀" }), r#""\u00e9\ud83d\ude00""#);
        assert_eq!(render("[] | tojson(indent=4)", context! {}), "[]");
        assert_eq!(render("{} | tojson", context! {}), "{}");
    }

    #[test]
    fn floats_follow_python_repr() {
        let cases = [(1.0, "1.0"), (0.1, "0.1"), (1e-6, "1e-06"), (1.5e20, "1.5e+20"), (-2.25, "-2.25"), (0.0, "0.0")];
        for (x, want) in cases {
            assert_eq!(super::python_float_repr(x), want, "{x}");
        }
    }

    #[test]
    fn unknown_keyword_is_an_error() {
        let mut env = Environment::new();
        env.add_filter("tojson", super::filter);
        assert!(env.render_str("{{ 1 | tojson(bogus=1) }}", context! {}).is_err());
    }
}
