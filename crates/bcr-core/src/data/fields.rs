//! Typed access to the fields of one JSON record, with errors that name the
//! file, the line (or Parquet row) and the field, and say what was found.

use crate::{Error, Location};
use serde_json::{Map, Value};

/// Where a record sits, plus a prefix for nested fields (`problems[2].`).
pub(crate) struct Site<'a> {
    pub at: &'a Location,
    pub prefix: &'a str,
}

impl Site<'_> {
    /// A [`Error::Record`] for `field` of this record.
    pub fn err(&self, field: &str, message: impl Into<String>) -> Error {
        Error::Record { at: self.at.clone(), field: format!("{}{}", self.prefix, field), message: message.into() }
    }

    /// The value of a required field.
    pub fn get<'v>(&self, obj: &'v Map<String, Value>, field: &str) -> Result<&'v Value, Error> {
        match obj.get(field) {
            Some(v) => Ok(v),
            None => Err(self.err(field, format!("missing (fields present: {})", keys(obj)))),
        }
    }

    /// A required string field.
    pub fn string(&self, obj: &Map<String, Value>, field: &str) -> Result<String, Error> {
        match self.get(obj, field)? {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.err(field, format!("expected a string, found {}", describe(other)))),
        }
    }

    /// The first present field of `fields` as a string (e.g. `problem`, then `question`).
    pub fn string_of(&self, obj: &Map<String, Value>, fields: &[&str]) -> Result<String, Error> {
        let field = fields.iter().find(|f| obj.contains_key(**f)).unwrap_or(&fields[0]);
        self.string(obj, field)
    }

    /// A required answer: a string, or a number rendered as text (`27.0` -> `27`).
    pub fn answer(&self, obj: &Map<String, Value>, field: &str) -> Result<String, Error> {
        match self.get(obj, field)? {
            Value::String(s) => Ok(s.trim().to_string()),
            Value::Number(n) => number_text(n).ok_or_else(|| self.err(field, "number is not finite")),
            other => Err(self.err(field, format!("expected a string or a number, found {}", describe(other)))),
        }
    }

    /// An identifier: the first present field of `fields` (string or integer),
    /// else `<source>-<line>`.
    pub fn id(&self, obj: &Map<String, Value>, fields: &[&str], source: &str) -> Result<String, Error> {
        let Some(field) = fields.iter().find(|f| obj.contains_key(**f)) else {
            return Ok(format!("{source}-{}", self.at.line));
        };
        match &obj[*field] {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
            other => {
                Err(self.err(field, format!("expected a non-empty string or an integer, found {}", describe(other))))
            }
        }
    }

    /// An optional finite number (`null` and absence both give `None`).
    pub fn opt_number(&self, obj: &Map<String, Value>, field: &str) -> Result<Option<f64>, Error> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.number(obj, field).map(Some),
        }
    }

    /// A required finite number.
    pub fn number(&self, obj: &Map<String, Value>, field: &str) -> Result<f64, Error> {
        match self.get(obj, field)? {
            Value::Number(n) => match n.as_f64() {
                Some(x) if x.is_finite() => Ok(x),
                _ => Err(self.err(field, format!("number {n} is not finite"))),
            },
            other => Err(self.err(field, format!("expected a number, found {}", describe(other)))),
        }
    }

    /// An optional string (`null` and absence both give `None`).
    pub fn opt_string(&self, obj: &Map<String, Value>, field: &str) -> Result<Option<String>, Error> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.err(field, format!("expected a string or null, found {}", describe(other)))),
        }
    }
}

/// One JSON object of an input file with its location: typed field access
/// whose errors name the file, the line and the field, and say what was
/// found. The commands that read JSONL of their own (`bcr grade`, `bcr
/// score`, `bcr generate`) use it, so every input error reads the same.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    at: Location,
    fields: Map<String, Value>,
}

impl Record {
    /// Parses one line of text as a JSON object (a UTF-8 BOM is ignored).
    pub fn parse(text: &str, at: Location) -> Result<Record, Error> {
        let site = Site { at: &at, prefix: "" };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text).trim_end_matches(['\n', '\r']);
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(fields)) => Ok(Record { at, fields }),
            Ok(other) => Err(site.err("-", format!("expected a JSON object, found {}", describe(&other)))),
            Err(e) => Err(site.err("-", format!("malformed JSON: {e}"))),
        }
    }

    pub(crate) fn from_parts(at: Location, fields: Map<String, Value>) -> Record {
        Record { at, fields }
    }

    /// Where the record was read.
    pub fn at(&self) -> &Location {
        &self.at
    }

    /// The object's fields.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// The object's fields, owned.
    pub fn into_fields(self) -> Map<String, Value> {
        self.fields
    }

    fn site(&self) -> Site<'_> {
        Site { at: &self.at, prefix: "" }
    }

    /// An [`Error::Record`] for `field` of this record.
    pub fn err(&self, field: &str, message: impl Into<String>) -> Error {
        self.site().err(field, message)
    }

    /// A required string field.
    pub fn string(&self, field: &str) -> Result<String, Error> {
        self.site().string(&self.fields, field)
    }

    /// An optional string field (`null` and absence both give `None`).
    pub fn opt_string(&self, field: &str) -> Result<Option<String>, Error> {
        self.site().opt_string(&self.fields, field)
    }

    /// An optional non-negative integer field (`null` and absence: `None`).
    pub fn opt_count(&self, field: &str) -> Result<Option<usize>, Error> {
        match self.fields.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.err(field, format!("expected a non-negative integer, found {}", describe(v)))),
        }
    }
}

/// A JSON number as answer text: integers verbatim, integral floats without
/// the `.0` (AMC23's `27.0` is the answer `27`), other floats in Rust's
/// shortest round-trip form (`0.5`, `1e21`).
pub(crate) fn number_text(n: &serde_json::Number) -> Option<String> {
    if n.is_i64() || n.is_u64() {
        return Some(n.to_string());
    }
    let x = n.as_f64().filter(|x| x.is_finite())?;
    // 2^53: beyond it an f64 no longer holds every integer exactly.
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        Some(format!("{}", x as i64))
    } else {
        Some(format!("{x:?}"))
    }
}

/// A short description of a JSON value for error messages
/// (`string "abc"`, `number 3`, `an array of 2 items`).
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => {
            let short: String = s.chars().take(40).collect();
            let dots = if short.len() < s.len() { "..." } else { "" };
            format!("string {short:?}{dots}")
        }
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".to_string(),
    }
}

/// The field names of a record, for "missing field" messages.
pub(crate) fn keys(obj: &Map<String, Value>) -> String {
    if obj.is_empty() {
        return "none".to_string();
    }
    obj.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_render_as_answers() {
        let cases = [
            (json!(27.0), "27"),
            (json!(-1.0), "-1"),
            (json!(70), "70"),
            (json!(0.5), "0.5"),
            (json!(1e21), "1e21"),
            (json!(1e300), "1e300"),
            (json!(u64::MAX), "18446744073709551615"),
        ];
        for (v, want) in cases {
            let Value::Number(n) = &v else { unreachable!("test table holds numbers") };
            assert_eq!(number_text(n).as_deref(), Some(want), "{v}");
        }
    }

    #[test]
    fn describe_truncates_long_strings() {
        let long = "x".repeat(100);
        assert_eq!(describe(&json!(long)), format!("string {:?}...", "x".repeat(40)));
        assert_eq!(describe(&json!([1, 2])), "an array of 2 items");
        assert_eq!(describe(&json!(null)), "null");
    }
}
