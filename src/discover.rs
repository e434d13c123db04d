//! Input discovery: walks the paths given on the command line and accounts
//! for every entry it meets, so that each one ends up in the report as
//! scanned, skipped (with the reason) or error (with the reason).

use std::fs;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

/// What discovery decided for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// A regular file to scan.
    Scan,
    /// Standard input (`-`).
    Stdin,
    /// Not scanned, for this reason.
    Skip(String),
    /// Left out by the user's own choice (`--exclude`, `--include`, an
    /// ignore file, the report being written), for this reason: reported
    /// as skipped, but not something `--strict` fails on.
    Excluded(String),
    /// Could not be examined, for this reason.
    Error(String),
}

/// One discovered input.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The path as given on the command line joined with the walked relative
    /// path; lossily decoded when not valid UTF-8.
    pub display: String,
    /// The path to open (None for stdin).
    pub path: Option<PathBuf>,
    pub disposition: Disposition,
    /// The PATH argument this entry was found under, so findings can name the
    /// file relative to it (stable across scans from different places).
    pub root: PathBuf,
}

impl Entry {
    /// The path relative to its root, `/`-separated: the file name when the
    /// root is the file itself, `-` for standard input.
    pub fn relative(&self) -> String {
        let Some(path) = &self.path else {
            return self.display.clone();
        };
        let rel = match path.strip_prefix(&self.root) {
            Ok(r) if !r.as_os_str().is_empty() => r.to_path_buf(),
            _ => path
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| path.clone()),
        };
        let parts: Vec<String> = rel
            .components()
            .map(|c| crate::text::os_text(c.as_os_str()))
            .collect();
        parts.join("/")
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid glob '{glob}': {reason}")]
pub struct GlobError {
    pub glob: String,
    pub reason: String,
}

/// How to walk.
#[derive(Debug, Default)]
pub struct DiscoverOptions {
    pub follow: bool,
    pub include: Option<GlobSet>,
    pub exclude: Option<GlobSet>,
    /// Files never to scan (the report being written), compared after
    /// canonicalisation.
    pub never: Vec<PathBuf>,
}

/// Builds a glob set; None when there are no globs.
pub fn globs(patterns: &[String]) -> Result<Option<GlobSet>, GlobError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let g = Glob::new(p).map_err(|e| GlobError {
            glob: p.clone(),
            reason: e.kind().to_string(),
        })?;
        b.add(g);
    }
    b.build().map(Some).map_err(|e| GlobError {
        glob: patterns.join(", "),
        reason: e.to_string(),
    })
}

fn glob_hit(set: &GlobSet, path: &Path) -> bool {
    set.is_match(path) || path.file_name().is_some_and(|n| set.is_match(n))
}

/// Walks every root and returns the entries sorted by display path, so scans
/// are reproducible whatever the directory order on disk.
pub fn discover(roots: &[PathBuf], opts: &DiscoverOptions) -> Vec<Entry> {
    let never: Vec<PathBuf> = opts
        .never
        .iter()
        .filter_map(|p| fs::canonicalize(p).ok())
        .collect();
    let mut out = Vec::new();
    for root in roots {
        if root.as_os_str() == "-" {
            out.push(Entry {
                display: "-".into(),
                path: None,
                disposition: Disposition::Stdin,
                root: root.clone(),
            });
            continue;
        }
        walk_root(root, opts, &never, &mut out);
    }
    out.sort_by(|a, b| a.display.cmp(&b.display));
    out
}

fn walk_root(root: &Path, opts: &DiscoverOptions, never: &[PathBuf], out: &mut Vec<Entry>) {
    let walker = WalkDir::new(root)
        .follow_links(opts.follow)
        .follow_root_links(true)
        .sort_by_file_name();
    let mut it = walker.into_iter();
    loop {
        let item = match it.next() {
            None => break,
            Some(i) => i,
        };
        let entry = match item {
            Ok(e) => e,
            Err(err) => {
                let display = err
                    .path()
                    .map(crate::text::path_text)
                    .unwrap_or_else(|| crate::text::path_text(root));
                let reason = if let Some(anc) = err.loop_ancestor() {
                    format!("symlink loop back to {}", anc.display())
                } else if let Some(io) = err.io_error() {
                    io_reason(io)
                } else {
                    err.to_string()
                };
                out.push(Entry {
                    display,
                    path: err.path().map(Path::to_path_buf),
                    disposition: Disposition::Error(reason),
                    root: root.to_path_buf(),
                });
                continue;
            }
        };
        let path = entry.path();
        let display = crate::text::path_text(path);
        let ft = entry.file_type();
        // The root itself is never filtered: it was named explicitly.
        let filtered =
            entry.depth() > 0 && (opts.exclude.as_ref().is_some_and(|s| glob_hit(s, path)));
        if ft.is_dir() {
            if filtered {
                out.push(excluded(
                    root,
                    path,
                    display,
                    "excluded by --exclude (directory not walked)",
                ));
                it.skip_current_dir();
            }
            continue;
        }
        if filtered {
            out.push(excluded(root, path, display, "excluded by --exclude"));
            continue;
        }
        if entry.depth() > 0
            && let Some(inc) = &opts.include
            && !glob_hit(inc, path)
        {
            out.push(excluded(root, path, display, "not matched by --include"));
            continue;
        }
        if ft.is_symlink() {
            // Only reached when links are not followed, or the link dangles.
            let reason = if opts.follow {
                "dangling symlink".to_string()
            } else {
                "symlink not followed (use --follow)".to_string()
            };
            out.push(skip(root, path, display, &reason));
            continue;
        }
        // A followed link reports its target's type here, but check the
        // target itself: a link to a device or FIFO must not be opened.
        let ft = match entry.path_is_symlink().then(|| fs::metadata(path)) {
            Some(Ok(m)) => m.file_type(),
            _ => ft,
        };
        if !ft.is_file() {
            out.push(skip(
                root,
                path,
                display,
                &format!("not a regular file ({})", special_kind(&ft)),
            ));
            continue;
        }
        if entry.depth() > 0 && entry.file_name() == crate::suppress::IGNORE_FILE_NAME {
            out.push(excluded(root, path, display, "skimhunt ignore file"));
            continue;
        }
        if !never.is_empty()
            && let Ok(c) = fs::canonicalize(path)
            && never.contains(&c)
        {
            out.push(excluded(
                root,
                path,
                display,
                "the report being written (-o)",
            ));
            continue;
        }
        out.push(Entry {
            display,
            path: Some(path.to_path_buf()),
            disposition: Disposition::Scan,
            root: root.to_path_buf(),
        });
    }
}

fn skip(root: &Path, path: &Path, display: String, reason: &str) -> Entry {
    Entry {
        display,
        path: Some(path.to_path_buf()),
        disposition: Disposition::Skip(reason.to_string()),
        root: root.to_path_buf(),
    }
}

fn excluded(root: &Path, path: &Path, display: String, reason: &str) -> Entry {
    Entry {
        disposition: Disposition::Excluded(reason.to_string()),
        ..skip(root, path, display, reason)
    }
}

#[cfg(unix)]
fn special_kind(ft: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "named pipe"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_ft: &fs::FileType) -> &'static str {
    "special file"
}

/// A plain reason for an I/O error, without the OS error number noise.
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "not found".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(entries: &[Entry]) -> Vec<(String, Disposition)> {
        entries
            .iter()
            .map(|e| {
                let n = Path::new(&e.display)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (n, e.disposition.clone())
            })
            .collect()
    }

    #[test]
    fn walks_sorted_and_filters() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("b.log"), "x\n").unwrap();
        fs::write(d.path().join("a.log"), "x\n").unwrap();
        fs::write(d.path().join("c.txt"), "x\n").unwrap();
        fs::create_dir(d.path().join("old")).unwrap();
        fs::write(d.path().join("old/z.log"), "x\n").unwrap();
        let opts = DiscoverOptions {
            include: globs(&["*.log".into()]).unwrap(),
            exclude: globs(&["old".into()]).unwrap(),
            ..Default::default()
        };
        let got = names(&discover(&[d.path().to_path_buf()], &opts));
        assert_eq!(
            got,
            vec![
                ("a.log".into(), Disposition::Scan),
                ("b.log".into(), Disposition::Scan),
                (
                    "c.txt".into(),
                    Disposition::Excluded("not matched by --include".into())
                ),
                (
                    "old".into(),
                    Disposition::Excluded("excluded by --exclude (directory not walked)".into())
                ),
            ]
        );
    }

    #[test]
    fn missing_root_is_an_error_entry() {
        let got = discover(
            &[PathBuf::from("/nonexistent/skimhunt")],
            &DiscoverOptions::default(),
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].disposition, Disposition::Error("not found".into()));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_fifos_and_loops() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        fs::write(root.join("real.log"), "x\n").unwrap();
        std::os::unix::fs::symlink(root.join("real.log"), root.join("link.log")).unwrap();
        std::os::unix::fs::symlink(root.join("nowhere"), root.join("dangling.log")).unwrap();
        fs::create_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
        let fifo = root.join("pipe");
        let ok = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .map(|s| s.success());
        let no_follow = names(&discover(
            &[root.to_path_buf()],
            &DiscoverOptions::default(),
        ));
        assert!(no_follow.contains(&(
            "link.log".into(),
            Disposition::Skip("symlink not followed (use --follow)".into())
        )));
        if ok.unwrap_or(false) {
            assert!(no_follow.contains(&(
                "pipe".into(),
                Disposition::Skip("not a regular file (named pipe)".into())
            )));
        }
        let follow = discover(
            &[root.to_path_buf()],
            &DiscoverOptions {
                follow: true,
                ..Default::default()
            },
        );
        let f = names(&follow);
        assert!(f.contains(&("link.log".into(), Disposition::Scan)));
        assert!(f.iter().any(|(n, d)| n == "loop"
            && matches!(d, Disposition::Error(r) if r.starts_with("symlink loop"))));
        assert!(f.iter().any(|(n, d)| n == "dangling.log"
            && matches!(d, Disposition::Error(_) | Disposition::Skip(_))));
    }
}
