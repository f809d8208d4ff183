//! verl's RL dataset schema, written as Parquet: one row per pack of N
//! problems (BCR, arXiv 2604.02322 §3), in the columns verl's `RLHFDataset`
//! and reward managers read.
//!
//! ```text
//! data_source   utf8                                   "bcr", or the benchmark name
//! prompt        list<struct<role: utf8, content: utf8>> the chat messages (one user turn)
//! ability       utf8                                   "math"
//! reward_model  struct<style: utf8, ground_truth: utf8> style "rule"; ground_truth is
//!                                                      the N golds as a JSON array of strings
//! extra_info    struct<index: int64, split: utf8, pack_id: utf8, n: int64,
//!                      problem_ids: list<utf8>, difficulties: list<float64?>,
//!                      mean_difficulty: float64?>
//! ```
//!
//! verl hands `reward_model.ground_truth` and `extra_info` to the reward
//! function, `bcr.verl.compute_score`, which reads the golds back and checks
//! `extra_info.n` against them.

use anyhow::Context;
use arrow_array::{ArrayRef, Float64Array, Int64Array, ListArray, RecordBatch, StringArray, StructArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use bcr_core::ChatMessage;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::path::Path;
use std::sync::Arc;

/// One dataset row: a pack rendered as a prompt, with its golds.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// verl's `data_source` (validation metrics are grouped by it).
    pub data_source: String,
    /// The chat messages verl renders with the model's chat template.
    pub prompt: Vec<ChatMessage>,
    /// The gold answers in prompt order (N = their number).
    pub golds: Vec<String>,
    /// Row number within its split.
    pub index: i64,
    /// `train` or `test`.
    pub split: String,
    /// The pack's identifier.
    pub pack_id: String,
    /// Problem identifiers in prompt order.
    pub problem_ids: Vec<String>,
    /// Per-problem difficulty, where the source has one.
    pub difficulties: Vec<Option<f64>>,
    /// Mean of the known difficulties.
    pub mean_difficulty: Option<f64>,
}

pub(super) fn message_fields() -> Fields {
    Fields::from(vec![Field::new("role", DataType::Utf8, false), Field::new("content", DataType::Utf8, false)])
}

pub(super) fn list_of(item: DataType, nullable_items: bool) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, nullable_items)))
}

fn reward_model_fields() -> Fields {
    Fields::from(vec![Field::new("style", DataType::Utf8, false), Field::new("ground_truth", DataType::Utf8, false)])
}

fn extra_info_fields() -> Fields {
    Fields::from(vec![
        Field::new("index", DataType::Int64, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("pack_id", DataType::Utf8, false),
        Field::new("n", DataType::Int64, false),
        Field::new("problem_ids", list_of(DataType::Utf8, false), false),
        Field::new("difficulties", list_of(DataType::Float64, true), false),
        Field::new("mean_difficulty", DataType::Float64, true),
    ])
}

/// The Arrow schema of a verl RL dataset as `bcr` writes it.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("data_source", DataType::Utf8, false),
        Field::new("prompt", list_of(DataType::Struct(message_fields()), false), false),
        Field::new("ability", DataType::Utf8, false),
        Field::new("reward_model", DataType::Struct(reward_model_fields()), false),
        Field::new("extra_info", DataType::Struct(extra_info_fields()), false),
    ]))
}

pub(super) fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    // Collected first: `from_iter_values` needs an exact size hint, which
    // `flat_map` does not give.
    Arc::new(StringArray::from(values.collect::<Vec<&str>>()))
}

/// A list column from per-row lengths and the flattened values.
pub(super) fn list(
    item: DataType,
    nullable_items: bool,
    lengths: Vec<usize>,
    values: ArrayRef,
) -> anyhow::Result<ArrayRef> {
    let field = Arc::new(Field::new("item", item, nullable_items));
    let array = ListArray::try_new(field, OffsetBuffer::from_lengths(lengths), values, None)?;
    Ok(Arc::new(array))
}

pub(super) fn prompt_column(rows: &[Row]) -> anyhow::Result<ArrayRef> {
    let messages = rows.iter().flat_map(|r| &r.prompt);
    let roles = strings(messages.clone().map(|m| m.role.as_str()));
    let contents = strings(messages.map(|m| m.content.as_str()));
    let values = StructArray::try_new(message_fields(), vec![roles, contents], None)?;
    let lengths = rows.iter().map(|r| r.prompt.len()).collect();
    list(DataType::Struct(message_fields()), false, lengths, Arc::new(values))
}

fn reward_model_column(rows: &[Row]) -> anyhow::Result<ArrayRef> {
    let golds = rows
        .iter()
        .map(|r| serde_json::to_string(&r.golds))
        .collect::<Result<Vec<_>, _>>()
        .context("encoding ground_truth as JSON")?;
    let style = strings(rows.iter().map(|_| "rule"));
    let truth = strings(golds.iter().map(String::as_str));
    Ok(Arc::new(StructArray::try_new(reward_model_fields(), vec![style, truth], None)?))
}

fn extra_info_column(rows: &[Row]) -> anyhow::Result<ArrayRef> {
    let ids = strings(rows.iter().flat_map(|r| r.problem_ids.iter().map(String::as_str)));
    let id_lengths = rows.iter().map(|r| r.problem_ids.len()).collect();
    let diffs: Float64Array = rows.iter().flat_map(|r| r.difficulties.iter().copied()).collect();
    let diff_lengths = rows.iter().map(|r| r.difficulties.len()).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.index))),
        strings(rows.iter().map(|r| r.split.as_str())),
        strings(rows.iter().map(|r| r.pack_id.as_str())),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.golds.len() as i64))),
        list(DataType::Utf8, false, id_lengths, ids)?,
        list(DataType::Float64, true, diff_lengths, Arc::new(diffs))?,
        Arc::new(rows.iter().map(|r| r.mean_difficulty).collect::<Float64Array>()),
    ];
    Ok(Arc::new(StructArray::try_new(extra_info_fields(), columns, None)?))
}

/// The rows as one Arrow record batch in [`schema`].
pub fn record_batch(rows: &[Row]) -> anyhow::Result<RecordBatch> {
    let columns = vec![
        strings(rows.iter().map(|r| r.data_source.as_str())),
        prompt_column(rows)?,
        strings(rows.iter().map(|_| "math")),
        reward_model_column(rows)?,
        extra_info_column(rows)?,
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

/// Writes the rows to `path` as Parquet (Snappy), atomically: a temporary
/// file beside it, synced, then renamed over `path`.
pub fn write(path: &Path, rows: &[Row]) -> anyhow::Result<()> {
    write_batch(path, &record_batch(rows)?)
}

/// Writes one record batch to `path` as Parquet (Snappy), atomically (the
/// writer of every `--format`).
pub(super) fn write_batch(path: &Path, batch: &RecordBatch) -> anyhow::Result<()> {
    let tmp = path.with_extension("parquet.tmp");
    let file = super::super::create_output(&tmp)?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    writer.write(batch)?;
    let file = writer.into_inner().with_context(|| format!("{}: writing Parquet", tmp.display()))?;
    file.sync_all().with_context(|| format!("{}: sync", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot rename to {}", tmp.display(), path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn row(index: i64, golds: &[&str], difficulties: &[Option<f64>]) -> Row {
        Row {
            data_source: "bcr".into(),
            prompt: vec![ChatMessage::user(format!("pack {index} — ∫ x dx"))],
            golds: golds.iter().map(|g| g.to_string()).collect(),
            index,
            split: "train".into(),
            pack_id: format!("p{index}"),
            problem_ids: golds.iter().enumerate().map(|(i, _)| format!("q{index}-{i}")).collect(),
            difficulties: difficulties.to_vec(),
            mean_difficulty: difficulties.iter().flatten().next().copied(),
        }
    }

    fn round_trip(rows: &[Row]) -> RecordBatch {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.parquet");
        write(&path, rows).unwrap();
        assert!(!path.with_extension("parquet.tmp").exists());
        let builder = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
        let read_schema = builder.schema().clone();
        let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
        match batches.as_slice() {
            [] => RecordBatch::new_empty(read_schema),
            [one] => one.clone(),
            many => panic!("small files come back as one batch, got {}", many.len()),
        }
    }

    #[test]
    fn rows_round_trip_through_parquet_in_the_verl_schema() {
        let cases: Vec<Vec<Row>> = vec![
            vec![row(0, &["3", "\\frac{1}{2}", "[0, 1)"], &[Some(5.0), None, Some(6.5)])],
            vec![row(0, &["\"quoted\" \\\\ back"], &[]), row(1, &["a", "b"], &[None, None])],
        ];
        for rows in cases {
            let batch = round_trip(&rows);
            assert_eq!(batch.schema(), schema());
            assert_eq!(batch.num_rows(), rows.len());
            let expected = record_batch(&rows).unwrap();
            assert_eq!(batch, expected);
        }
    }

    #[test]
    fn ground_truth_is_a_json_array_of_the_golds() {
        let rows = vec![row(7, &["x^2", "\\{1,2\\}"], &[Some(1.0), Some(2.0)])];
        let batch = record_batch(&rows).unwrap();
        let rm = batch.column(3).as_any().downcast_ref::<StructArray>().unwrap();
        let truth = rm.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        let golds: Vec<String> = serde_json::from_str(truth.value(0)).unwrap();
        assert_eq!(golds, ["x^2", "\\{1,2\\}"]);
        let info = batch.column(4).as_any().downcast_ref::<StructArray>().unwrap();
        let n = info.column(3).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(n.value(0), 2);
        assert!(info.column(6).is_valid(0));
    }

    #[test]
    fn empty_input_writes_an_empty_table() {
        let batch = round_trip(&[]);
        assert_eq!(batch.num_rows(), 0);
        assert_eq!(batch.schema(), schema());
    }
}
