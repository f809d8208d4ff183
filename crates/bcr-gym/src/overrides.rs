//! `--set key.path=value` overrides on a TOML document, applied before it
//! is deserialized (so the usual field checks still run). The value is read
//! as a TOML value (`3`, `1e-3`, `[1,2]`, `true`, `"s"`); anything that does
//! not parse as one is taken as a bare string (`output=runs/x`).

use toml::{Table, Value};

use crate::error::{Error, Result};

/// Applies `sets` in order to `doc`; errors name `--set` and the key.
pub fn apply_sets(doc: &mut Table, sets: &[String]) -> Result<()> {
    for set in sets {
        let bad = |field: &str, message: String| Error::Config {
            file: "--set".to_string(),
            field: field.to_string(),
            message,
        };
        let Some((key, raw)) = set.split_once('=') else {
            return Err(bad(set, "expected KEY=VALUE".to_string()));
        };
        let key = key.trim();
        let parts: Vec<&str> = key.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad(key, "empty key segment".to_string()));
        }
        let value = parse_value(raw.trim());
        let mut table = &mut *doc;
        for part in &parts[..parts.len() - 1] {
            let entry = table.entry(part.to_string()).or_insert_with(|| Value::Table(Table::new()));
            table = match entry {
                Value::Table(t) => t,
                other => return Err(bad(key, format!("`{part}` is a {}, not a section", other.type_str()))),
            };
        }
        table.insert(parts[parts.len() - 1].to_string(), value);
    }
    Ok(())
}

fn parse_value(raw: &str) -> Value {
    let doc = format!("v = {raw}");
    match doc.parse::<Table>() {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| Value::String(raw.to_string())),
        Err(_) => Value::String(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_nested_typed_values() {
        let mut doc: Table = "[train]\nsteps = 5\n".parse().unwrap();
        let sets = ["train.steps=7", "train.lr=1e-3", "data.pack_sizes=[1, 3]", "output=runs/x", "a.b.c=true"];
        apply_sets(&mut doc, &sets.map(String::from)).unwrap();
        assert_eq!(doc["train"]["steps"].as_integer(), Some(7));
        assert_eq!(doc["train"]["lr"].as_float(), Some(1e-3));
        assert_eq!(doc["data"]["pack_sizes"].as_array().map(Vec::len), Some(2));
        assert_eq!(doc["output"].as_str(), Some("runs/x"));
        assert_eq!(doc["a"]["b"]["c"].as_bool(), Some(true));
    }

    #[test]
    fn rejects_malformed_sets() {
        for set in ["nokey", "train..steps=1", "=3", "train.steps.x=1"] {
            let mut doc: Table = "[train]\nsteps = 5\n".parse().unwrap();
            let err = apply_sets(&mut doc, &[set.to_string()]).unwrap_err().to_string();
            assert!(err.contains("--set"), "{set}: {err}");
        }
    }
}
