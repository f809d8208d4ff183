//! The GGUF container (llama.cpp's single-file checkpoint, versions 2 and 3):
//! header, metadata key/values of every type (arrays included) and tensor
//! infos. The one reader of the workspace: `bcr-core` reads a chat template
//! and special tokens from it, `bcr-model` the architecture, the tokenizer
//! and the tensors (whose bytes it reads at [`GgufHeader::data_start`]).
//!
//! Layout (all little-endian): `"GGUF"`, `version: u32`, `n_tensors: u64`,
//! `n_kv: u64`, then `n_kv` entries `key: string, type: u32, value`, then
//! `n_tensors` infos `name: string, n_dims: u32, dims: [u64; n_dims]
//! (fastest-varying first), type: u32, offset: u64`, then padding up to
//! `general.alignment` (default 32) and the tensor data, each tensor at
//! `data_start + offset`. Strings are `len: u64` followed by UTF-8 bytes.
//!
//! Corrupt lengths never allocate: strings and arrays longer than
//! [`MAX_LEN`] are errors, and values a caller does not keep
//! ([`GgufHeader::read_filtered`]) are skipped without being stored.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::{Error, Result};

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// Longest string or array accepted: a corrupt length would otherwise ask
/// for terabytes.
pub const MAX_LEN: u64 = 1 << 31;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum GgufValue {
    /// `uint8`.
    U8(u8),
    /// `int8`.
    I8(i8),
    /// `uint16`.
    U16(u16),
    /// `int16`.
    I16(i16),
    /// `uint32`.
    U32(u32),
    /// `int32`.
    I32(i32),
    /// `float32`.
    F32(f32),
    /// `bool`.
    Bool(bool),
    /// `string`.
    String(String),
    /// `array` of one element type.
    Array(Vec<GgufValue>),
    /// `uint64`.
    U64(u64),
    /// `int64`.
    I64(i64),
    /// `float64`.
    F64(f64),
}

impl GgufValue {
    /// The value as an unsigned integer, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            GgufValue::U8(v) => Some(v.into()),
            GgufValue::U16(v) => Some(v.into()),
            GgufValue::U32(v) => Some(v.into()),
            GgufValue::U64(v) => Some(v),
            GgufValue::I8(v) => u64::try_from(v).ok(),
            GgufValue::I16(v) => u64::try_from(v).ok(),
            GgufValue::I32(v) => u64::try_from(v).ok(),
            GgufValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float, if it is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            GgufValue::F32(v) => Some(v.into()),
            GgufValue::F64(v) => Some(v),
            GgufValue::I8(v) => Some(v.into()),
            GgufValue::I16(v) => Some(v.into()),
            GgufValue::I32(v) => Some(v.into()),
            GgufValue::I64(v) => Some(v as f64),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    /// The value as a string slice.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            GgufValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            GgufValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The value as an array.
    pub fn as_array(&self) -> Option<&[GgufValue]> {
        match self {
            GgufValue::Array(v) => Some(v),
            _ => None,
        }
    }
}

/// Where one tensor lives in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// GGUF tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions, fastest-varying first (GGUF order; reverse for row-major).
    pub dims: Vec<u64>,
    /// The ggml storage type id (`0` = F32, `1` = F16, `2` = Q4_0, ...);
    /// `bcr-model` maps it to the types it can read.
    pub ggml_type: u32,
    /// Byte offset from the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn elem_count(&self) -> u64 {
        self.dims.iter().product()
    }

    /// Row-major shape (slowest-varying first), as candle and HF use.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }
}

/// A parsed GGUF header: metadata, tensor infos and where the data starts.
#[derive(Debug, Clone)]
pub struct GgufHeader {
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata, by key (only the kept keys with [`GgufHeader::read_filtered`]).
    pub metadata: BTreeMap<String, GgufValue>,
    /// Tensor infos in file order.
    pub tensors: Vec<TensorInfo>,
    /// Absolute byte offset of the data section.
    pub data_start: u64,
}

impl GgufHeader {
    /// Opens `path` and reads its whole header.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_filtered(path, &|_| true)
    }

    /// Opens `path` and reads its header, keeping the metadata keys `keep`
    /// accepts (the others are skipped without being stored).
    pub fn open_filtered(path: &Path, keep: &dyn Fn(&str) -> bool) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Self::read_filtered(BufReader::new(file), keep)
            .map_err(|message| Error::Input { path: path.to_path_buf(), message: format!("GGUF: {message}") })
    }

    /// Parses the whole header from the start of a GGUF stream. Errors are
    /// messages that name the byte offset; callers add the file name.
    pub fn read<R: Read>(reader: R) -> std::result::Result<Self, String> {
        Self::read_filtered(reader, &|_| true)
    }

    /// [`GgufHeader::read`], keeping only the metadata keys `keep` accepts.
    pub fn read_filtered<R: Read>(reader: R, keep: &dyn Fn(&str) -> bool) -> std::result::Result<Self, String> {
        let mut c = Cursor { inner: reader, pos: 0 };
        let magic = c.bytes::<4>("magic")?;
        if &magic != MAGIC {
            return Err(format!("bad magic {magic:?}, expected \"GGUF\""));
        }
        let version = c.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(format!("unsupported GGUF version {version} (2 and 3 are)"));
        }
        let n_tensors = c.len("tensor count")?;
        let n_kv = c.len("metadata count")?;
        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = c.string("metadata key")?;
            let ty = c.u32(&key)?;
            if keep(&key) {
                let value = c.value(ty, &key, 0)?;
                metadata.insert(key, value);
            } else {
                c.skip_value(ty, &key, 0)?;
            }
        }
        let mut tensors = Vec::with_capacity(n_tensors.min(1 << 16));
        for _ in 0..n_tensors {
            tensors.push(c.tensor_info()?);
        }
        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() => a,
                _ => return Err(format!("general.alignment {v:?} is not a power of two")),
            },
        };
        if let Some(t) = tensors.iter().find(|t| t.offset % alignment != 0) {
            return Err(format!(
                "tensor {} offset {} is not a multiple of the alignment {alignment}",
                t.name, t.offset
            ));
        }
        let data_start = c.pos.div_ceil(alignment) * alignment;
        Ok(GgufHeader { version, metadata, tensors, data_start })
    }

    /// The metadata value for `key`.
    pub fn get(&self, key: &str) -> Option<&GgufValue> {
        self.metadata.get(key)
    }

    /// The tensor info named `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

/// Counts bytes consumed so the data section's aligned start can be found
/// without `Seek`.
struct Cursor<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Cursor<R> {
    fn bytes<const N: usize>(&mut self, what: &str) -> std::result::Result<[u8; N], String> {
        let mut buf = [0u8; N];
        self.inner.read_exact(&mut buf).map_err(|e| format!("truncated at byte {} reading {what}: {e}", self.pos))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u32(&mut self, what: &str) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes(what)?))
    }

    fn u64(&mut self, what: &str) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(self.bytes(what)?))
    }

    fn len(&mut self, what: &str) -> std::result::Result<usize, String> {
        let at = self.pos;
        let n = self.u64(what)?;
        if n > MAX_LEN {
            return Err(format!("{what} at byte {at} has length {n}, over {MAX_LEN}"));
        }
        Ok(n as usize)
    }

    fn string(&mut self, what: &str) -> std::result::Result<String, String> {
        let n = self.len(what)?;
        let at = self.pos;
        let mut buf = Vec::with_capacity(n.min(1 << 20));
        self.inner.by_ref().take(n as u64).read_to_end(&mut buf).map_err(|e| format!("reading {what}: {e}"))?;
        if buf.len() != n {
            return Err(format!("truncated at byte {at} reading {what}: the file ends inside a string"));
        }
        self.pos += n as u64;
        String::from_utf8(buf).map_err(|e| format!("{what} at byte {at} is not UTF-8: {e}"))
    }

    fn skip(&mut self, n: u64, what: &str) -> std::result::Result<(), String> {
        let at = self.pos;
        let copied = io::copy(&mut self.inner.by_ref().take(n), &mut io::sink()).map_err(|e| format!("{what}: {e}"))?;
        if copied < n {
            return Err(format!("truncated at byte {at} skipping {what}"));
        }
        self.pos += n;
        Ok(())
    }

    fn value(&mut self, ty: u32, key: &str, depth: usize) -> std::result::Result<GgufValue, String> {
        Ok(match ty {
            0 => GgufValue::U8(u8::from_le_bytes(self.bytes(key)?)),
            1 => GgufValue::I8(i8::from_le_bytes(self.bytes(key)?)),
            2 => GgufValue::U16(u16::from_le_bytes(self.bytes(key)?)),
            3 => GgufValue::I16(i16::from_le_bytes(self.bytes(key)?)),
            4 => GgufValue::U32(self.u32(key)?),
            5 => GgufValue::I32(i32::from_le_bytes(self.bytes(key)?)),
            6 => GgufValue::F32(f32::from_le_bytes(self.bytes(key)?)),
            7 => match self.bytes::<1>(key)?[0] {
                0 => GgufValue::Bool(false),
                1 => GgufValue::Bool(true),
                b => return Err(format!("metadata {key}: bool byte {b} is not 0 or 1")),
            },
            T_STRING => GgufValue::String(self.string(key)?),
            T_ARRAY if depth == 0 => {
                let elem = self.u32(key)?;
                let n = self.len(key)?;
                let mut items = Vec::with_capacity(n.min(1 << 20));
                for _ in 0..n {
                    items.push(self.value(elem, key, depth + 1)?);
                }
                GgufValue::Array(items)
            }
            T_ARRAY => return Err(format!("metadata {key}: nested arrays are not supported")),
            10 => GgufValue::U64(self.u64(key)?),
            11 => GgufValue::I64(i64::from_le_bytes(self.bytes(key)?)),
            12 => GgufValue::F64(f64::from_le_bytes(self.bytes(key)?)),
            t => return Err(format!("metadata {key}: unknown value type {t}")),
        })
    }

    /// Reads past a value without storing it (fixed-size arrays in one skip).
    fn skip_value(&mut self, ty: u32, key: &str, depth: usize) -> std::result::Result<(), String> {
        match ty {
            T_STRING => {
                let n = self.len(key)?;
                self.skip(n as u64, key)
            }
            T_ARRAY if depth == 0 => {
                let elem = self.u32(key)?;
                let n = self.len(key)? as u64;
                match scalar_size(elem) {
                    Some(size) => self.skip(size * n, key),
                    None => (0..n).try_for_each(|_| self.skip_value(elem, key, depth + 1)),
                }
            }
            T_ARRAY => Err(format!("metadata {key}: nested arrays are not supported")),
            t => match scalar_size(t) {
                Some(size) => self.skip(size, key),
                None => Err(format!("metadata {key}: unknown value type {t}")),
            },
        }
    }

    fn tensor_info(&mut self) -> std::result::Result<TensorInfo, String> {
        let name = self.string("tensor name")?;
        let n_dims = self.u32(&name)?;
        if n_dims > 4 {
            return Err(format!("tensor {name} has {n_dims} dimensions, at most 4 allowed"));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(self.u64(&name)?);
        }
        if dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)).is_none() {
            return Err(format!("tensor {name} dims {dims:?} overflow"));
        }
        let ggml_type = self.u32(&name)?;
        let offset = self.u64(&name)?;
        Ok(TensorInfo { name, dims, ggml_type, offset })
    }
}

/// Byte size of a fixed-size scalar type; `None` for strings, arrays and
/// unknown types.
fn scalar_size(ty: u32) -> Option<u64> {
    match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

/// Test-side GGUF writer, shared with `bcr-model`'s tests (feature-free:
/// it is small and pure).
#[doc(hidden)]
pub mod testing {
    /// Writes a GGUF v3 file in memory: `(key, value type, value bytes)`
    /// metadata and `(name, dims, ggml type, data)` tensors.
    pub fn build(kvs: &[(&str, u32, Vec<u8>)], tensors: &[(&str, &[u64], u32, Vec<u8>)]) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend((tensors.len() as u64).to_le_bytes());
        out.extend((kvs.len() as u64).to_le_bytes());
        for (k, ty, v) in kvs {
            out.extend(string(k));
            out.extend(ty.to_le_bytes());
            out.extend(v);
        }
        let mut offset = 0u64;
        for (name, dims, ty, data) in tensors {
            out.extend(string(name));
            out.extend((dims.len() as u32).to_le_bytes());
            dims.iter().for_each(|d| out.extend(d.to_le_bytes()));
            out.extend(ty.to_le_bytes());
            out.extend(offset.to_le_bytes());
            offset += (data.len() as u64).div_ceil(32) * 32;
        }
        out.resize(out.len().div_ceil(32) * 32, 0);
        for (_, _, _, data) in tensors {
            out.extend(data);
            out.resize(out.len().div_ceil(32) * 32, 0);
        }
        out
    }

    /// A GGUF string value: `len: u64` and the bytes.
    pub fn string(t: &str) -> Vec<u8> {
        let mut v = (t.len() as u64).to_le_bytes().to_vec();
        v.extend(t.as_bytes());
        v
    }

    /// A GGUF array of strings (element type 8).
    pub fn string_array(items: &[&str]) -> Vec<u8> {
        let mut v = 8u32.to_le_bytes().to_vec();
        v.extend((items.len() as u64).to_le_bytes());
        for s in items {
            v.extend(string(s));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{build, string, string_array};
    use super::*;

    #[test]
    fn reads_every_metadata_type_and_tensor_infos() {
        let kvs = vec![
            ("u8", 0, vec![7]),
            ("i8", 1, vec![0xff]),
            ("u16", 2, 513u16.to_le_bytes().to_vec()),
            ("i16", 3, (-2i16).to_le_bytes().to_vec()),
            ("u32", 4, 70000u32.to_le_bytes().to_vec()),
            ("i32", 5, (-70000i32).to_le_bytes().to_vec()),
            ("f32", 6, 1.5f32.to_le_bytes().to_vec()),
            ("bool", 7, vec![1]),
            ("str", 8, string("llama")),
            ("arr", 9, string_array(&["a", "bé"])),
            ("u64", 10, u64::MAX.to_le_bytes().to_vec()),
            ("i64", 11, (-3i64).to_le_bytes().to_vec()),
            ("f64", 12, 0.25f64.to_le_bytes().to_vec()),
        ];
        let data: Vec<u8> = [1.0f32, -2.0, 3.5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let bytes = build(&kvs, &[("w", &[3], 0, data)]);
        let h = GgufHeader::read(&bytes[..]).unwrap();
        assert_eq!(h.version, 3);
        assert_eq!(h.get("u8"), Some(&GgufValue::U8(7)));
        assert_eq!(h.get("i8"), Some(&GgufValue::I8(-1)));
        assert_eq!(h.get("u16").and_then(GgufValue::as_u64), Some(513));
        assert_eq!(h.get("i16"), Some(&GgufValue::I16(-2)));
        assert_eq!(h.get("i32").and_then(GgufValue::as_f64), Some(-70000.0));
        assert_eq!(h.get("f32").and_then(GgufValue::as_f64), Some(1.5));
        assert_eq!(h.get("bool").and_then(GgufValue::as_bool), Some(true));
        assert_eq!(h.get("str").and_then(GgufValue::as_str), Some("llama"));
        let arr = h.get("arr").and_then(GgufValue::as_array).unwrap();
        assert_eq!(arr, &[GgufValue::String("a".into()), GgufValue::String("bé".into())]);
        assert_eq!(h.get("u64").and_then(GgufValue::as_u64), Some(u64::MAX));
        assert_eq!(h.get("i64").and_then(GgufValue::as_u64), None);
        assert_eq!(h.get("f64").and_then(GgufValue::as_f64), Some(0.25));
        let info = h.tensor("w").unwrap();
        assert_eq!((info.shape(), info.ggml_type, info.offset), (vec![3], 0, 0));
        assert_eq!(h.data_start % 32, 0);

        // Filtered: skipped keys are absent, the tensors and data start are the same.
        let f = GgufHeader::read_filtered(&bytes[..], &|k| k == "str").unwrap();
        assert_eq!(f.metadata.keys().collect::<Vec<_>>(), ["str"]);
        assert_eq!((f.tensors, f.data_start), (h.tensors, h.data_start));
    }

    #[test]
    fn rejects_malformed_headers() {
        let good = build(&[("k", 4, 1u32.to_le_bytes().to_vec())], &[]);
        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        let mut bad_version = good.clone();
        bad_version[4] = 9;
        let mut bad_type = good.clone();
        // The value type of the one key sits after magic, version, counts and the key.
        bad_type[24 + 8 + 1] = 99;
        let huge_string = build(&[("k", 8, u64::MAX.to_le_bytes().to_vec())], &[]);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("magic", bad_magic, "bad magic"),
            ("version", bad_version, "unsupported GGUF version 9"),
            ("type", bad_type, "unknown value type 99"),
            // Cut inside the u32 value of the one key.
            ("truncated", good[..24 + 8 + 1 + 4 + 2].to_vec(), "truncated at byte 37"),
            ("huge", huge_string, "over"),
            ("empty", vec![], "truncated at byte 0"),
        ];
        for (name, bytes, want) in cases {
            for keep in [true, false] {
                let err = GgufHeader::read_filtered(&bytes[..], &|_| keep).unwrap_err();
                assert!(err.contains(want), "{name} (keep {keep}): {err}");
            }
        }
    }

    #[test]
    fn open_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.gguf");
        std::fs::write(&path, b"GGUF\x03\x00").unwrap();
        let err = GgufHeader::open(&path).unwrap_err().to_string();
        assert!(err.contains("bad.gguf") && err.contains("truncated"), "{err}");
    }
}
