//! Atomic replacement: the new content is written beside the target, synced,
//! then renamed over it, and the directory entry is synced, so a crash leaves
//! either the old file or the new one, never a mix.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// Replaces `path` with `bytes` atomically (temp file, fsync, rename, fsync
/// of the directory). The parent directory must exist.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_sibling(path);
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")))
}

/// Builds a directory with `fill` in a temporary sibling, then puts it in
/// place of `dir` (removing an older one). A crash while filling leaves the
/// old directory (or none) and a temporary one that the next call removes.
/// `fill` may return the caller's own error type.
pub fn replace_dir<E: From<Error>>(dir: &Path, fill: impl FnOnce(&Path) -> Result<(), E>) -> Result<(), E> {
    let tmp = tmp_sibling(dir);
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    fill(&tmp)?;
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    fs::rename(&tmp, dir).map_err(io(dir))?;
    Ok(sync_dir(dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")))?)
}

/// `.NAME.tmp` beside `path`.
fn tmp_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Persists a rename: directories can be opened read-only and fsynced on Unix.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_dirs_are_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.json");
        write_atomic(&file, b"one").unwrap();
        write_atomic(&file, b"two").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        let out = dir.path().join("model");
        replace_dir::<Error>(&out, |tmp| write_atomic(&tmp.join("a"), b"1")).unwrap();
        // A failing fill leaves the old directory in place.
        let failed: Result<()> = replace_dir(&out, |_| Err(Error::Invalid("no".into())));
        assert!(failed.is_err() && out.join("a").exists());
        replace_dir::<Error>(&out, |tmp| write_atomic(&tmp.join("b"), b"2")).unwrap();
        assert!(out.join("b").exists() && !out.join("a").exists());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "no temporary left: {names:?}");
    }
}
