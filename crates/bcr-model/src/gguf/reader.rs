//! The GGUF container (versions 2 and 3): header, metadata key/values of every
//! type (arrays included), tensor infos and the aligned data section.
//!
//! Layout (all little-endian): `"GGUF"`, `version: u32`, `n_tensors: u64`,
//! `n_kv: u64`, then `n_kv` entries `key: string, type: u32, value`, then
//! `n_tensors` infos `name: string, n_dims: u32, dims: [u64; n_dims]
//! (fastest-varying first), type: u32, offset: u64`, then padding up to
//! `general.alignment` (default 32) and the tensor data, each tensor at
//! `data_start + offset`. Strings are `len: u64` followed by UTF-8 bytes.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

use super::dtype::GgmlType;
/// Header errors are plain messages; [`super::GgufFile`] adds the path.
type Result<T> = std::result::Result<T, String>;

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// Refuse strings and arrays longer than this: a corrupt length would
/// otherwise ask for terabytes.
const MAX_LEN: u64 = 1 << 31;

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
            _ => self.as_u64().map(|v| v as f64).or(match *self {
                GgufValue::I8(v) => Some(v.into()),
                GgufValue::I16(v) => Some(v.into()),
                GgufValue::I32(v) => Some(v.into()),
                GgufValue::I64(v) => Some(v as f64),
                _ => None,
            }),
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
    /// Storage type.
    pub dtype: GgmlType,
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
    /// Metadata, by key.
    pub metadata: BTreeMap<String, GgufValue>,
    /// Tensor infos in file order.
    pub tensors: Vec<TensorInfo>,
    /// Absolute byte offset of the data section.
    pub data_start: u64,
}

/// Counts bytes consumed so the data section's aligned start can be found
/// without `Seek` on the header path.
struct Cursor<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Cursor<R> {
    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| gguf_err(format!("truncated at byte {} reading {what}: {e}", self.pos)))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.bytes(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.bytes(what)?))
    }

    fn len(&mut self, what: &str) -> Result<usize> {
        let at = self.pos;
        let n = self.u64(what)?;
        if n > MAX_LEN {
            return Err(gguf_err(format!("{what} at byte {at} has length {n}, over {MAX_LEN}")));
        }
        Ok(n as usize)
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.len(what)?;
        let at = self.pos;
        let mut buf = vec![0u8; n];
        self.inner.read_exact(&mut buf).map_err(|e| gguf_err(format!("truncated at byte {at} reading {what}: {e}")))?;
        self.pos += n as u64;
        String::from_utf8(buf).map_err(|e| gguf_err(format!("{what} at byte {at} is not UTF-8: {e}")))
    }

    fn value(&mut self, ty: u32, key: &str, depth: usize) -> Result<GgufValue> {
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
                b => return Err(gguf_err(format!("metadata {key}: bool byte {b} is not 0 or 1"))),
            },
            8 => GgufValue::String(self.string(key)?),
            9 if depth == 0 => {
                let elem = self.u32(key)?;
                let n = self.len(key)?;
                let mut items = Vec::with_capacity(n.min(1 << 20));
                for _ in 0..n {
                    items.push(self.value(elem, key, depth + 1)?);
                }
                GgufValue::Array(items)
            }
            9 => return Err(gguf_err(format!("metadata {key}: nested arrays are not supported"))),
            10 => GgufValue::U64(self.u64(key)?),
            11 => GgufValue::I64(i64::from_le_bytes(self.bytes(key)?)),
            12 => GgufValue::F64(f64::from_le_bytes(self.bytes(key)?)),
            t => return Err(gguf_err(format!("metadata {key}: unknown value type {t}"))),
        })
    }
}

fn gguf_err(message: String) -> String {
    message
}

impl GgufHeader {
    /// Parses the header from the start of a GGUF stream.
    pub fn read<R: Read>(reader: R) -> Result<Self> {
        let mut c = Cursor { inner: reader, pos: 0 };
        let magic = c.bytes::<4>("magic")?;
        if &magic != MAGIC {
            return Err(gguf_err(format!("bad magic {magic:?}, expected \"GGUF\"")));
        }
        let version = c.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(gguf_err(format!("unsupported GGUF version {version} (2 and 3 are)")));
        }
        let n_tensors = c.len("tensor count")?;
        let n_kv = c.len("metadata count")?;
        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = c.string("metadata key")?;
            let ty = c.u32(&key)?;
            let value = c.value(ty, &key, 0)?;
            metadata.insert(key, value);
        }
        let mut tensors = Vec::with_capacity(n_tensors.min(1 << 16));
        for _ in 0..n_tensors {
            tensors.push(read_tensor_info(&mut c)?);
        }
        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() => a,
                _ => return Err(gguf_err(format!("general.alignment {v:?} is not a power of two"))),
            },
        };
        let data_start = c.pos.div_ceil(alignment) * alignment;
        let header = GgufHeader { version, metadata, tensors, data_start };
        header.check_offsets(alignment)?;
        Ok(header)
    }

    fn check_offsets(&self, alignment: u64) -> Result<()> {
        for t in &self.tensors {
            if t.offset % alignment != 0 {
                return Err(gguf_err(format!(
                    "tensor {} offset {} is not a multiple of the alignment {alignment}",
                    t.name, t.offset
                )));
            }
        }
        Ok(())
    }

    /// The metadata value for `key`.
    pub fn get(&self, key: &str) -> Option<&GgufValue> {
        self.metadata.get(key)
    }

    /// The tensor info named `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Reads the raw bytes of one tensor from `reader` (the same file).
    pub fn read_tensor_bytes<R: Read + Seek>(&self, reader: &mut R, info: &TensorInfo) -> Result<Vec<u8>> {
        let n = info
            .dtype
            .byte_size(info.elem_count())
            .map_err(|m| gguf_err(format!("tensor {} with dims {:?}: {m}", info.name, info.dims)))?;
        let mut buf = vec![0u8; n];
        reader.seek(SeekFrom::Start(self.data_start + info.offset)).and_then(|_| reader.read_exact(&mut buf)).map_err(
            |e| {
                gguf_err(format!(
                    "tensor {}: cannot read {n} bytes at offset {}: {e}",
                    info.name,
                    self.data_start + info.offset
                ))
            },
        )?;
        Ok(buf)
    }
}

fn read_tensor_info<R: Read>(c: &mut Cursor<R>) -> Result<TensorInfo> {
    let name = c.string("tensor name")?;
    let n_dims = c.u32(&name)?;
    if n_dims > 4 {
        return Err(gguf_err(format!("tensor {name} has {n_dims} dimensions, at most 4 allowed")));
    }
    let mut dims = Vec::with_capacity(n_dims as usize);
    for _ in 0..n_dims {
        dims.push(c.u64(&name)?);
    }
    if dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)).is_none() {
        return Err(gguf_err(format!("tensor {name} dims {dims:?} overflow")));
    }
    let ty = c.u32(&name)?;
    let dtype = GgmlType::from_u32(ty).ok_or_else(|| gguf_err(format!("tensor {name} has unknown ggml type {ty}")))?;
    let offset = c.u64(&name)?;
    Ok(TensorInfo { name, dims, dtype, offset })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Writes a GGUF v3 file in memory (the test-side writer).
    pub(crate) fn build(kvs: &[(&str, u32, Vec<u8>)], tensors: &[(&str, &[u64], u32, Vec<u8>)]) -> Vec<u8> {
        let s = |out: &mut Vec<u8>, t: &str| {
            out.extend((t.len() as u64).to_le_bytes());
            out.extend(t.as_bytes());
        };
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend((tensors.len() as u64).to_le_bytes());
        out.extend((kvs.len() as u64).to_le_bytes());
        for (k, ty, v) in kvs {
            s(&mut out, k);
            out.extend(ty.to_le_bytes());
            out.extend(v);
        }
        let mut offset = 0u64;
        for (name, dims, ty, data) in tensors {
            s(&mut out, name);
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

    fn string_value(t: &str) -> Vec<u8> {
        let mut v = (t.len() as u64).to_le_bytes().to_vec();
        v.extend(t.as_bytes());
        v
    }

    #[test]
    fn reads_every_metadata_type_and_a_tensor() {
        let mut arr = 8u32.to_le_bytes().to_vec();
        arr.extend(2u64.to_le_bytes());
        arr.extend(string_value("a"));
        arr.extend(string_value("bé"));
        let kvs = vec![
            ("u8", 0, vec![7]),
            ("i8", 1, vec![0xff]),
            ("u16", 2, 513u16.to_le_bytes().to_vec()),
            ("i16", 3, (-2i16).to_le_bytes().to_vec()),
            ("u32", 4, 70000u32.to_le_bytes().to_vec()),
            ("i32", 5, (-70000i32).to_le_bytes().to_vec()),
            ("f32", 6, 1.5f32.to_le_bytes().to_vec()),
            ("bool", 7, vec![1]),
            ("str", 8, string_value("llama")),
            ("arr", 9, arr),
            ("u64", 10, u64::MAX.to_le_bytes().to_vec()),
            ("i64", 11, (-3i64).to_le_bytes().to_vec()),
            ("f64", 12, 0.25f64.to_le_bytes().to_vec()),
        ];
        let data: Vec<u8> = [1.0f32, -2.0, 3.5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let bytes = build(&kvs, &[("w", &[3], 0, data.clone())]);
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
        let info = h.tensor("w").unwrap().clone();
        assert_eq!(info.shape(), vec![3]);
        let got = h.read_tensor_bytes(&mut std::io::Cursor::new(&bytes), &info).unwrap();
        assert_eq!(got, data);
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
            let err = GgufHeader::read(&bytes[..]).unwrap_err().to_string();
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn rejects_unknown_tensor_type_and_short_data() {
        let bytes = build(&[], &[("w", &[4], 77, vec![0; 16])]);
        let err = GgufHeader::read(&bytes[..]).unwrap_err().to_string();
        assert!(err.contains("tensor w has unknown ggml type 77"), "{err}");
        let bytes = build(&[], &[("w", &[64], 0, vec![0; 16])]);
        let h = GgufHeader::read(&bytes[..]).unwrap();
        let info = h.tensors[0].clone();
        let err = h.read_tensor_bytes(&mut std::io::Cursor::new(&bytes), &info).unwrap_err();
        assert!(err.to_string().contains("cannot read 256 bytes"), "{err}");
    }
}
