//! Parquet through arrow-rs: the file's column names pick the format (same
//! rules as a JSONL record's field names), only the columns that format reads
//! are decoded (DeepMath-103K's three long `r1_solution_*` columns are never
//! touched), and each row becomes a JSON object fed to the same mapping as
//! JSONL. Rows are numbered from 1 across row groups and batches.
//!
//! Column types understood: strings (`Utf8`, `LargeUtf8`, `Utf8View`),
//! integers, floats, booleans, nulls, and lists of those (OlympiadBench's
//! `final_answer` as a list column). Any other type in a projected column is
//! an [`Error::Input`] naming the column.

use super::formats::Format;
use super::Collector;
use crate::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use serde_json::{Map, Value};
use std::fs::File;
use std::path::Path;

/// Reads every row of a Parquet file into `out`.
pub(crate) fn load(path: &Path, out: &mut Collector) -> Result<()> {
    let unreadable = |e: &dyn std::fmt::Display| Error::Input {
        path: path.to_path_buf(),
        message: format!("unreadable Parquet: {e}"),
    };
    let file = File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| unreadable(&e))?;
    let schema = builder.schema().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if out.format == Format::Auto {
        out.format = Format::detect(|f| names.contains(&f)).ok_or_else(|| Error::Input {
            path: path.to_path_buf(),
            message: format!("cannot detect the format from the columns ({}); use --format", names.join(", ")),
        })?;
    }
    let wanted: Vec<usize> = (0..names.len()).filter(|&i| out.format.fields().contains(&names[i])).collect();
    for &i in &wanted {
        let field = schema.field(i);
        if !supported(field.data_type()) {
            return Err(Error::Input {
                path: path.to_path_buf(),
                message: format!("column `{}` has the unsupported type {}", field.name(), field.data_type()),
            });
        }
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
    let reader = builder.with_projection(mask).build().map_err(|e| unreadable(&e))?;
    let mut row = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(&format!("after row {row}: {e}")))?;
        for r in 0..batch.num_rows() {
            row += 1;
            out.add(row, Ok(row_object(&batch, r)))?;
        }
    }
    Ok(())
}

/// Row `r` of a batch as a JSON object (null cells become `null`).
fn row_object(batch: &RecordBatch, r: usize) -> Map<String, Value> {
    let schema = batch.schema();
    schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, col)| (field.name().clone(), cell(col.as_ref(), r)))
        .collect()
}

fn supported(dt: &DataType) -> bool {
    use DataType::*;
    match dt {
        Null | Boolean | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float32 | Float64 | Utf8
        | LargeUtf8 | Utf8View => true,
        List(item) | LargeList(item) => supported(item.data_type()),
        _ => false,
    }
}

/// One cell as JSON. Only called on columns that passed [`supported`].
fn cell(col: &dyn Array, r: usize) -> Value {
    if col.is_null(r) {
        return Value::Null;
    }
    let num = |x: Option<serde_json::Number>| x.map_or(Value::Null, Value::Number);
    match col.data_type() {
        DataType::Boolean => Value::Bool(col.as_boolean().value(r)),
        DataType::Int8 => Value::from(col.as_primitive::<Int8Type>().value(r)),
        DataType::Int16 => Value::from(col.as_primitive::<Int16Type>().value(r)),
        DataType::Int32 => Value::from(col.as_primitive::<Int32Type>().value(r)),
        DataType::Int64 => Value::from(col.as_primitive::<Int64Type>().value(r)),
        DataType::UInt8 => Value::from(col.as_primitive::<UInt8Type>().value(r)),
        DataType::UInt16 => Value::from(col.as_primitive::<UInt16Type>().value(r)),
        DataType::UInt32 => Value::from(col.as_primitive::<UInt32Type>().value(r)),
        DataType::UInt64 => Value::from(col.as_primitive::<UInt64Type>().value(r)),
        // A NaN or infinite float has no JSON form: it becomes null, which the
        // mapping then reports as a wrong type for that field.
        DataType::Float32 => num(serde_json::Number::from_f64(f64::from(col.as_primitive::<Float32Type>().value(r)))),
        DataType::Float64 => num(serde_json::Number::from_f64(col.as_primitive::<Float64Type>().value(r))),
        DataType::Utf8 => Value::from(col.as_string::<i32>().value(r)),
        DataType::LargeUtf8 => Value::from(col.as_string::<i64>().value(r)),
        DataType::Utf8View => Value::from(col.as_string_view().value(r)),
        DataType::List(_) => list(col.as_list::<i32>().value(r).as_ref()),
        DataType::LargeList(_) => list(col.as_list::<i64>().value(r).as_ref()),
        _ => Value::Null,
    }
}

fn list(items: &dyn Array) -> Value {
    Value::Array((0..items.len()).map(|i| cell(items, i)).collect())
}
