//! TRL's dataset schema, written as Parquet: one row per pack of N problems
//! (BCR, arXiv 2604.02322 §3) in the "prompt-only, conversational" form that
//! TRL's `GRPOTrainer` reads through `datasets.load_dataset("parquet", ...)`.
//!
//! ```text
//! prompt           list<struct<role: utf8, content: utf8>> the chat messages; TRL applies
//!                                                          the model's chat template
//! ground_truth     utf8            the N golds as a JSON array of strings (bcr.trl.reward)
//! data_source      utf8            "bcr", or the benchmark name
//! pack_id          utf8
//! n                int64
//! problem_ids      list<utf8>
//! difficulties     list<float64?>
//! mean_difficulty  float64?
//! ```
//!
//! TRL passes every column but `prompt` to the reward functions as keyword
//! arguments, one value per completion; `bcr.trl.reward` reads
//! `ground_truth` and ignores the others. The rows are verl's ([`Row`]); only
//! the columns differ.

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::path::Path;
use std::sync::Arc;

use super::verl::{list, list_of, message_fields, prompt_column, strings, write_batch, Row};

/// The Arrow schema of a TRL dataset as `bcr` writes it.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("prompt", list_of(DataType::Struct(message_fields()), false), false),
        Field::new("ground_truth", DataType::Utf8, false),
        Field::new("data_source", DataType::Utf8, false),
        Field::new("pack_id", DataType::Utf8, false),
        Field::new("n", DataType::Int64, false),
        Field::new("problem_ids", list_of(DataType::Utf8, false), false),
        Field::new("difficulties", list_of(DataType::Float64, true), false),
        Field::new("mean_difficulty", DataType::Float64, true),
    ]))
}

/// The rows as one Arrow record batch in [`schema`].
pub fn record_batch(rows: &[Row]) -> anyhow::Result<RecordBatch> {
    let golds = rows.iter().map(|r| serde_json::to_string(&r.golds)).collect::<Result<Vec<_>, _>>()?;
    let ids = strings(rows.iter().flat_map(|r| r.problem_ids.iter().map(String::as_str)));
    let diffs: Float64Array = rows.iter().flat_map(|r| r.difficulties.iter().copied()).collect();
    let columns: Vec<ArrayRef> = vec![
        prompt_column(rows)?,
        strings(golds.iter().map(String::as_str)),
        strings(rows.iter().map(|r| r.data_source.as_str())),
        strings(rows.iter().map(|r| r.pack_id.as_str())),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.golds.len() as i64))),
        list(DataType::Utf8, false, rows.iter().map(|r| r.problem_ids.len()).collect(), ids)?,
        list(DataType::Float64, true, rows.iter().map(|r| r.difficulties.len()).collect(), Arc::new(diffs))?,
        Arc::new(rows.iter().map(|r| r.mean_difficulty).collect::<Float64Array>()),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

/// Writes the rows to `path` as Parquet, atomically.
pub fn write(path: &Path, rows: &[Row]) -> anyhow::Result<()> {
    write_batch(path, &record_batch(rows)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, StringArray};
    use bcr_core::ChatMessage;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn row(golds: &[&str], difficulties: &[Option<f64>]) -> Row {
        Row {
            data_source: "bcr".into(),
            prompt: vec![ChatMessage::user("### Problem 1 — ∫ x dx")],
            golds: golds.iter().map(|g| g.to_string()).collect(),
            index: 0,
            split: "train".into(),
            pack_id: "stratified-0-0".into(),
            problem_ids: golds.iter().enumerate().map(|(i, _)| format!("q{i}")).collect(),
            difficulties: difficulties.to_vec(),
            mean_difficulty: difficulties.iter().flatten().next().copied(),
        }
    }

    #[test]
    fn rows_round_trip_through_parquet_in_the_trl_schema() {
        let rows = vec![row(&["3", "\\frac{1}{2}", "[0, 1)"], &[Some(1.0), None, Some(3.0)]), row(&["x"], &[None])];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.parquet");
        write(&path, &rows).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
        let batch = reader.build().unwrap().next().unwrap().unwrap();
        assert_eq!(batch.schema(), schema());
        assert_eq!(batch, record_batch(&rows).unwrap());
        let truth = batch.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        let golds: Vec<String> = serde_json::from_str(truth.value(0)).unwrap();
        assert_eq!(golds, ["3", "\\frac{1}{2}", "[0, 1)"]);
        assert!(batch.column(7).is_null(1), "no known difficulty: mean is null");
    }
}
