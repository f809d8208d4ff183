//! The two pieces of state a forward pass carries between calls: where
//! each row of a ragged batch stands ([`RowSpan`]) and the keys and values
//! of earlier calls ([`KvCache`]).

use candle_core::Tensor;

use crate::error::{Error, Result};

/// One row of a ragged batch: `left_pad` padding columns, `len` real
/// tokens starting at RoPE position `start_pos`, then right padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowSpan {
    /// RoPE position of the first real token of this call.
    pub start_pos: usize,
    /// Padding columns before the real tokens.
    pub left_pad: usize,
    /// Real tokens (the rest of the row, after them, is right padding).
    pub len: usize,
}

impl RowSpan {
    /// A row of `t` real tokens starting at position `start_pos`.
    pub fn dense(start_pos: usize, t: usize) -> Self {
        RowSpan { start_pos, left_pad: 0, len: t }
    }

    /// A prompt of `len` tokens left-padded to `t` columns, starting at 0.
    pub fn left_padded(len: usize, t: usize) -> Self {
        RowSpan { start_pos: 0, left_pad: t.saturating_sub(len), len }
    }

    /// A sequence of `len` tokens right-padded to `t` columns, starting at 0.
    pub fn right_padded(len: usize) -> Self {
        RowSpan { start_pos: 0, left_pad: 0, len }
    }

    pub(crate) fn is_real(&self, col: usize) -> bool {
        col >= self.left_pad && col < self.left_pad + self.len
    }

    pub(crate) fn position(&self, col: usize) -> usize {
        if self.is_real(col) {
            self.start_pos + col - self.left_pad
        } else {
            self.start_pos
        }
    }
}

/// Keys and values of earlier calls, per layer, `(b, kv_heads, slots, d)`,
/// detached, in buffers that grow by doubling; plus which slots are real.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    /// Which slots of each row are real tokens.
    pub(crate) valid: Vec<Vec<bool>>,
    /// Slots cached per row.
    pub(crate) len: usize,
}

impl KvCache {
    /// An empty cache for a model of `num_layers` layers.
    pub fn new(num_layers: usize) -> Self {
        KvCache { layers: vec![None; num_layers], valid: Vec::new(), len: 0 }
    }

    /// Slots cached per row (real and padding).
    pub fn seq_len(&self) -> usize {
        self.len
    }

    /// Rows in the cache (0 before the first call).
    pub fn batch_size(&self) -> usize {
        self.valid.len()
    }

    /// Real (non-padding) tokens cached per row.
    pub fn row_lens(&self) -> Vec<usize> {
        self.valid.iter().map(|r| r.iter().filter(|&&v| v).count()).collect()
    }

    /// Keep only `rows` (in that order), e.g. to drop finished sequences.
    pub fn select_rows(&mut self, rows: &[usize]) -> Result<()> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.valid.len()) {
            return Err(Error::Input(format!("select_rows: row {bad} out of {} rows", self.valid.len())));
        }
        let idx: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
        for (k, v) in self.layers.iter_mut().flatten() {
            let ids = Tensor::new(idx.as_slice(), k.device())?;
            *k = k.index_select(&ids, 0)?;
            *v = v.index_select(&ids, 0)?;
        }
        self.valid = rows.iter().map(|&r| self.valid[r].clone()).collect();
        Ok(())
    }

    /// Adds the rows of `other` after this cache's rows (continuous
    /// batching: sequences prefilled apart join a running batch). The side
    /// with fewer slots is left-padded with invalid slots, so every row's
    /// real slots stay in order and the next call appends at one column.
    pub fn extend_rows(&mut self, other: KvCache) -> Result<()> {
        if other.valid.is_empty() {
            return Ok(());
        }
        if self.valid.is_empty() {
            *self = other;
            return Ok(());
        }
        if other.layers.len() != self.layers.len() {
            return Err(Error::Input(format!(
                "extend_rows: a cache of {} layers joins one of {}",
                other.layers.len(),
                self.layers.len()
            )));
        }
        let len = self.len.max(other.len);
        let (mine, theirs) = (self.len, other.len);
        for (a, b) in self.layers.iter_mut().zip(other.layers) {
            let ((ak, av), (bk, bv)) = match (a.take(), b) {
                (Some(x), Some(y)) => (x, y),
                _ => return Err(Error::Input("extend_rows: a layer was never filled".into())),
            };
            let k = Tensor::cat(&[&left_pad(&ak, mine, len)?, &left_pad(&bk, theirs, len)?], 0)?;
            let v = Tensor::cat(&[&left_pad(&av, mine, len)?, &left_pad(&bv, theirs, len)?], 0)?;
            *a = Some((k, v));
        }
        let pad = |rows: Vec<Vec<bool>>, have: usize| {
            rows.into_iter().map(move |r| std::iter::repeat_n(false, len - have).chain(r).collect::<Vec<_>>())
        };
        let mine_rows = std::mem::take(&mut self.valid);
        self.valid = pad(mine_rows, mine).chain(pad(other.valid, theirs)).collect();
        self.len = len;
        Ok(())
    }

    /// Drops leading slots that no row uses (padding of rows that joined
    /// late, once the older rows have left).
    pub fn trim_front(&mut self) -> Result<()> {
        let first = self.valid.iter().map(|r| r.iter().position(|&v| v).unwrap_or(r.len())).min().unwrap_or(0);
        if first == 0 {
            return Ok(());
        }
        let keep = self.len - first;
        for (k, v) in self.layers.iter_mut().flatten() {
            *k = k.narrow(2, first, keep)?.contiguous()?;
            *v = v.narrow(2, first, keep)?.contiguous()?;
        }
        for r in &mut self.valid {
            r.drain(..first);
        }
        self.len = keep;
        Ok(())
    }

    /// Append `k`, `v` `(b, kv, t, d)` for `layer`; returns views of all
    /// `(b, kv, len + t, d)` slots.
    pub(crate) fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let t = k.dim(2)?;
        let (k, v) = (k.detach(), v.detach());
        let (old_len, total) = (self.len, self.len + t);
        let entry = self.layers.get_mut(layer).ok_or_else(|| Error::Input(format!("cache has no layer {layer}")))?;
        let grown = match entry.take() {
            Some((bk, bv)) if bk.dim(2)? >= total => (bk, bv),
            old => {
                let cap = (total * 2).max(16);
                let (b, kv, _, d) = k.dims4()?;
                let bk = Tensor::zeros((b, kv, cap, d), k.dtype(), k.device())?;
                let bv = Tensor::zeros((b, kv, cap, d), v.dtype(), v.device())?;
                if let Some((ok, ov)) = old {
                    bk.slice_set(&ok.narrow(2, 0, old_len)?, 2, 0)?;
                    bv.slice_set(&ov.narrow(2, 0, old_len)?, 2, 0)?;
                }
                (bk, bv)
            }
        };
        grown.0.slice_set(&k.contiguous()?, 2, old_len)?;
        grown.1.slice_set(&v.contiguous()?, 2, old_len)?;
        let views = (grown.0.narrow(2, 0, total)?, grown.1.narrow(2, 0, total)?);
        *entry = Some(grown);
        Ok(views)
    }
}

/// The first `have` slots of a cache buffer `(b, kv, cap, d)`, left-padded
/// with zeros to `len` slots.
fn left_pad(t: &Tensor, have: usize, len: usize) -> Result<Tensor> {
    let used = t.narrow(2, 0, have)?;
    if have == len {
        return Ok(used.contiguous()?);
    }
    let (b, kv, _, d) = t.dims4()?;
    let zeros = Tensor::zeros((b, kv, len - have, d), t.dtype(), t.device())?;
    Ok(Tensor::cat(&[&zeros, &used], 2)?)
}
