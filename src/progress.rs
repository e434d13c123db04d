//! The progress bar on standard error (only when it is a terminal).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shared by all workers; a no-op when hidden.
pub struct Progress {
    bar: Option<ProgressBar>,
    files: AtomicU64,
    total_files: u64,
    findings: AtomicU64,
}

impl Progress {
    pub fn hidden() -> Progress {
        Progress {
            bar: None,
            files: AtomicU64::new(0),
            total_files: 0,
            findings: AtomicU64::new(0),
        }
    }

    /// A bar over `total_bytes` of input on standard error.
    pub fn bar(total_bytes: u64, total_files: u64) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bar: Some(bar),
            files: AtomicU64::new(0),
            total_files,
            findings: AtomicU64::new(0),
        }
    }

    pub fn bytes(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    pub fn findings(&self, n: u64) {
        self.findings.fetch_add(n, Ordering::Relaxed);
        self.message();
    }

    pub fn file_done(&self) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.message();
    }

    fn message(&self) {
        if let Some(b) = &self.bar {
            b.set_message(format!(
                "files {}/{} findings {}",
                self.files.load(Ordering::Relaxed),
                self.total_files,
                self.findings.load(Ordering::Relaxed)
            ));
        }
    }

    /// Runs `f` with the bar hidden, so a message on stderr does not tear it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(b) => b.suspend(f),
            None => f(),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
