//! Device and dtype names as users write them (`cpu`, `cuda:0`; `f32`,
//! `bf16`), shared by `bcr generate`, `bcr eval`, `bcr train` and the
//! benchmark probes so that every entry point accepts the same spellings.

use candle_core::{DType, Device};

use crate::error::{Error, Result};

/// `cpu` or `cuda:K` (also `cuda`, meaning `cuda:0`) as a candle device.
///
/// A CUDA device needs a build with the `cuda` cargo feature; without it the
/// error says how to get one.
pub fn parse_device(spec: &str) -> Result<Device> {
    let bad = |message: String| Error::Device { spec: spec.to_string(), message };
    let Some(index) = device_index(spec)? else { return Ok(Device::Cpu) };
    if !candle_core::utils::cuda_is_available() {
        return Err(bad("this build has no CUDA support; rebuild with `cargo build --release --features cuda` \
             (needs nvcc on PATH and the CUDA libraries)"
            .to_string()));
    }
    Device::new_cuda(index).map_err(|e| bad(e.to_string()))
}

/// Checks the spelling of a device name without opening the device (config
/// validation): `None` for the CPU, `Some(K)` for `cuda:K`.
pub fn device_index(spec: &str) -> Result<Option<usize>> {
    let bad = |message: String| Error::Device { spec: spec.to_string(), message };
    match spec {
        "cpu" => Ok(None),
        "cuda" => Ok(Some(0)),
        _ => match spec.strip_prefix("cuda:") {
            Some(k) => k.parse::<usize>().map(Some).map_err(|_| bad(format!("GPU index {k:?} is not a number"))),
            None => Err(bad("expected cpu or cuda:K".to_string())),
        },
    }
}

/// The weights' precision at inference, as `--dtype` spells it: a float
/// dtype every weight is converted to at load, or `native`, which keeps a
/// GGUF file's quantised blocks as stored (Q4_0, Q4_1 and Q8_0 on bcr's
/// AVX512-VNNI kernel, other block types on candle's quantised matmul;
/// activations in f32). Where there is nothing to keep (safetensors) or no
/// kernel for it (a GPU), `native` loads f32. Training always converts
/// ([`parse_dtype`]): gradients need float weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightDtype {
    /// Converted to this dtype at load.
    Float(DType),
    /// A GGUF file's quantised blocks kept as stored.
    Native,
}

impl WeightDtype {
    /// `native`, or a float dtype as [`parse_dtype`] reads it.
    pub fn parse(spec: &str) -> Result<Self> {
        if spec == "native" {
            return Ok(WeightDtype::Native);
        }
        parse_dtype(spec).map(WeightDtype::Float).map_err(|_| Error::Device {
            spec: spec.to_string(),
            message: "expected a dtype: native (a GGUF file's own quantisation), f32, bf16, f16 or f64".into(),
        })
    }

    /// The dtype dense weights take: the float dtype, f32 for `native`.
    pub fn float(self) -> DType {
        match self {
            WeightDtype::Float(d) => d,
            WeightDtype::Native => DType::F32,
        }
    }
}

impl From<DType> for WeightDtype {
    fn from(d: DType) -> Self {
        WeightDtype::Float(d)
    }
}

/// `f32`, `bf16`, `f16` or `f64` as a candle dtype.
pub fn parse_dtype(spec: &str) -> Result<DType> {
    match spec {
        "f32" => Ok(DType::F32),
        "bf16" => Ok(DType::BF16),
        "f16" => Ok(DType::F16),
        "f64" => Ok(DType::F64),
        other => {
            Err(Error::Device { spec: other.to_string(), message: "expected a dtype: f32, bf16, f16 or f64".into() })
        }
    }
}

/// The short name of a device as users write it: `cpu` or `cuda:K`.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".to_string(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

/// Tune candle's CPU threading for this process; call it first thing in
/// `main`, before any other thread exists (it sets an environment variable).
///
/// candle runs elementwise ops on its own "barrier pool" of
/// `CANDLE_NUM_THREADS - 1` workers that spin for a while after each op,
/// while matmuls (and bcr's fused kernels) run on rayon's pool. With few
/// cores the spinning workers take the CPU from the GEMM threads: on this
/// project's 2-core machine, one spinning pool worker cost 15-20% of a
/// training step (`docs/design.md`). Since the heavy elementwise work runs
/// in bcr's own rayon kernels, the pool is not needed there. So with at
/// most 4 rayon threads, and unless the user set it, this sets
/// `CANDLE_NUM_THREADS=1` (no pool workers: candle's remaining elementwise
/// ops run on the calling thread). Returns whether it did.
pub fn tune_cpu_threads() -> bool {
    // rayon's own rule, without starting its pool (no thread may exist yet).
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1);
    if std::env::var_os("CANDLE_NUM_THREADS").is_some() || threads > 4 {
        return false;
    }
    std::env::set_var("CANDLE_NUM_THREADS", "1");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_dtypes_parse() {
        assert!(parse_device("cpu").unwrap().is_cpu());
        assert_eq!(parse_dtype("bf16").unwrap(), DType::BF16);
        assert_eq!(WeightDtype::parse("native").unwrap(), WeightDtype::Native);
        assert_eq!(WeightDtype::parse("bf16").unwrap(), WeightDtype::Float(DType::BF16));
        assert_eq!(WeightDtype::Native.float(), DType::F32);
        assert!(parse_dtype("native").is_err(), "training converts: no native dtype there");
        assert_eq!(device_name(&Device::Cpu), "cpu");
    }

    #[test]
    fn bad_specs_name_the_value() {
        let e = parse_device("gpu0").unwrap_err().to_string();
        assert!(e.contains("\"gpu0\"") && e.contains("cpu or cuda:K"), "{e}");
        let e = parse_device("cuda:x").unwrap_err().to_string();
        assert!(e.contains("\"x\""), "{e}");
        let e = parse_dtype("fp8").unwrap_err().to_string();
        assert!(e.contains("fp8") && e.contains("bf16"), "{e}");
        let e = WeightDtype::parse("q4").unwrap_err().to_string();
        assert!(e.contains("q4") && e.contains("native"), "{e}");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_build_it() {
        let e = parse_device("cuda:0").unwrap_err().to_string();
        assert!(e.contains("--features cuda"), "{e}");
    }
}
