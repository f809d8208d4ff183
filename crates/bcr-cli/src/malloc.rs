//! glibc's allocator returns every large freed buffer to the kernel, so each
//! tensor op pays for a fresh mmap/munmap: about half the CPU time of a candle
//! training step on this machine (see `docs/performance.md`). Raising the mmap
//! and trim thresholds keeps freed buffers in the heap for reuse.

/// Raise glibc's mmap and trim thresholds (no-op elsewhere).
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any
    // other thread exists.
    unsafe {
        const M_TRIM_THRESHOLD: libc::c_int = -1;
        const M_MMAP_THRESHOLD: libc::c_int = -3;
        // Debian 12's glibc 2.36 accepts 1 GiB here (mallopt returns 1;
        // checked with a C probe); older glibc capped it at 32 MiB and would
        // refuse, leaving the default, which is still correct, only slower.
        libc::mallopt(M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }
}
