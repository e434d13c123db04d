//! The commands, as library functions: `main` parses flags, calls these and
//! maps their errors to exit codes.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::card::Fingerprinter;
use crate::cli::{FailOn, ListFormat, OutputFormat, RuleSourceArgs, ScanArgs, Undated};
use crate::detect::{self, DetectError, DetectOptions, DetectState, Detectors, ReportSections};
use crate::discover::{self, DiscoverOptions, Disposition, GlobError};
use crate::format::{self, LineParser, LogFormat, ParseOptions};
use crate::level::Level;
use crate::matcher::Engine;
use crate::pack;
use crate::progress::Progress;
use crate::record::Record;
use crate::report::csv::CsvEmitter;
use crate::report::html::HtmlEmitter;
use crate::report::json::JsonEmitter;
use crate::report::jsonl::JsonlEmitter;
use crate::report::sarif::SarifEmitter;
use crate::report::text::TextEmitter;
use crate::report::{
    Emitter, FileStatus, Header, RulesInfo, ScanInfo, Summary, Tally, ToolInfo, WindowInfo,
};
use crate::rules::{Rule, RuleError};
use crate::scan::{self, FileOutcome, ScanConfig};
use crate::suppress::{SuppressError, Suppressed, Suppressor};
use crate::window::{self, TimeError, Window};

/// Errors that stop a command (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("rule file {0}")]
    Rules(#[from] RuleError),
    #[error("{0}")]
    Time(#[from] TimeError),
    #[error("{0}")]
    Glob(#[from] GlobError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Detect(#[from] DetectError),
    #[error("{0}")]
    Suppress(#[from] SuppressError),
}

/// How a scan ended.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    pub summary: Summary,
    /// True when a finding reached the --fail-on level.
    pub failed: bool,
    /// With --strict: files that were skipped or could not be read (exit 2).
    pub incomplete: Option<String>,
}

/// `skimhunt scan`.
pub fn scan(args: &ScanArgs, command_line: Vec<String>) -> Result<ScanOutcome, Error> {
    let started = Timestamp::now();
    let tz = window::parse_tz(&args.tz)?;
    let pad = args.pad.as_deref().map(window::parse_span).transpose()?;
    let window = Window::new(args.since.as_deref(), args.until.as_deref(), &tz, pad)?;
    if window.is_unbounded() && !args.quiet {
        eprintln!("skimhunt: hint: no time window; incident scans usually want --since/--until");
    }
    let suppressor = Suppressor::load(
        args.baseline.as_deref(),
        args.ignore_file.as_deref(),
        &args.paths,
    )?;
    let mut loaded = pack::load(&args.rules.rules, args.rules.no_default_rules)?;
    crate::patterns::extend(
        &mut loaded,
        args.rules.patterns.as_deref(),
        args.rules.pattern_category,
    )?;
    // --no-default-rules drops the built-in detections too; options that
    // only those use would silently do nothing.
    let builtin = !args.rules.no_default_rules;
    if !builtin {
        let unused: Vec<&str> = [
            ("--asset", !args.assets.is_empty()),
            ("--payment-path", !args.payment_paths.is_empty()),
            ("--own-domain", !args.own_domains.is_empty()),
            ("--exposure-csv", args.exposure_csv.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect();
        if !unused.is_empty() {
            return Err(Error::Usage(format!(
                "{} {} the built-in detectors (drift, exposure, look-alike hosts), which \
                 --no-default-rules turns off",
                unused.join(", "),
                if unused.len() == 1 { "needs" } else { "need" }
            )));
        }
    }
    let ioc_rules = loaded.rules.iter().any(|r| !r.ioc_lists.is_empty());
    if loaded.rules.is_empty() && args.iocs.is_empty() && !ioc_rules {
        return Err(Error::Usage(
            "no rules to apply (--no-default-rules without --rules, --patterns or --ioc)".into(),
        ));
    }
    let fingerprinter = match &args.pan_key {
        Some(k) => Fingerprinter::new(k.as_bytes()),
        None => Fingerprinter::random(),
    };
    // IOC lists named by rule files (`skimhunt.ioc`) join the --ioc lists.
    let mut iocs = args.iocs.clone();
    for p in loaded.rules.iter().flat_map(|r| &r.ioc_lists) {
        if !iocs.contains(p) {
            iocs.push(p.clone());
        }
    }
    let detectors = std::sync::Arc::new(Detectors::new(
        window,
        &DetectOptions {
            assets: args.assets.clone(),
            payment_paths: args.payment_paths.clone(),
            iocs,
            ioc_texts: Vec::new(),
            own_domains: args.own_domains.clone(),
            iocs_only: !builtin,
            exposure_sample_only: args.exposure_csv.is_none(),
        },
    )?);
    let mut cfg = ScanConfig::new(window, tz, fingerprinter);
    // Without the built-in detections only IOC lists need the detector pass.
    if builtin || !detectors.iocs.is_empty() {
        cfg.detect = Some(detectors.clone());
    }
    cfg.include_undated = args.undated == Undated::Include;
    cfg.year = args.year;
    cfg.log_format = args.log_format;
    cfg.hash = args.hash;
    if !suppressor.is_empty() {
        cfg.suppressor = Some(std::sync::Arc::new(suppressor));
    }

    let threads = args.threads.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {threads} threads: {e}")))?;

    let opts = DiscoverOptions {
        follow: args.follow,
        include: discover::globs(&args.include)?,
        exclude: discover::globs(&args.exclude)?,
        never: args.output.iter().cloned().collect(),
    };
    let entries = discover::discover(&args.paths, &opts);
    // Display path → (scan root, path relative to it), for suppression and
    // SARIF locations.
    let roots: BTreeMap<String, (PathBuf, String)> = entries
        .iter()
        .map(|e| (e.display.clone(), (e.root.clone(), e.relative())))
        .collect();
    let total_bytes: u64 = entries
        .iter()
        .filter(|e| e.disposition == Disposition::Scan)
        .filter_map(|e| e.path.as_ref().and_then(|p| fs::metadata(p).ok()))
        .map(|m| m.len())
        .sum();
    let show_bar = !args.quiet && !args.no_progress && io::stderr().is_terminal();
    let progress = if show_bar {
        Progress::bar(total_bytes, entries.len() as u64)
    } else {
        Progress::hidden()
    };

    let engine = Engine::new(loaded.rules);
    let header = Header {
        tool: ToolInfo {
            name: "skimhunt",
            version: env!("CARGO_PKG_VERSION"),
        },
        scan: ScanInfo {
            started,
            finished: None,
            command_line,
            rules: RulesInfo {
                count: engine.rules().len(),
                sha256: loaded.sha256,
            },
            detectors: detector_names(builtin, !detectors.iocs.is_empty()),
            host_time_zone: host_time_zone(),
        },
        window: WindowInfo {
            since: cfg.window.since,
            until: cfg.window.until,
        },
    };

    let mut sink = Output::create(args.output.as_deref())?;
    let mut summary = Summary::default();
    let mut detect_state = DetectState::default();
    let mut internal_errors = 0u64;
    let mut timeline = detect::timeline::Timeline::default();
    let exposure;
    let result = {
        let color = args.output.is_none() && io::stdout().is_terminal();
        let mut emitter: Box<dyn Emitter> = match args.format {
            OutputFormat::Json => Box::new(JsonEmitter::new(&mut sink.writer)),
            OutputFormat::Jsonl => Box::new(JsonlEmitter::new(&mut sink.writer)),
            OutputFormat::Sarif => Box::new(SarifEmitter::new(
                &mut sink.writer,
                engine.rules(),
                roots
                    .iter()
                    .map(|(d, (_, rel))| (d.clone(), rel.clone()))
                    .collect(),
            )),
            OutputFormat::Csv => Box::new(CsvEmitter::new(&mut sink.writer)),
            OutputFormat::Text => Box::new(TextEmitter::new(&mut sink.writer, color)),
            OutputFormat::Html => Box::new(HtmlEmitter::new(&mut sink.writer, engine.rules())),
        };
        let io_err = |source| Error::Io {
            what: "writing the report".into(),
            source,
        };
        emitter.begin(&header).map_err(io_err)?;
        // Formats that write each finding on its own have the scanning
        // threads render them; this thread then only copies bytes in order.
        cfg.writer = emitter.writer();
        let rendered = cfg.writer.is_some();
        let scanned = scan_all(&pool, &entries, &engine, &cfg, &progress, |o| {
            internal_errors += u64::from(o.internal_error);
            detect_state.merge(o.detect);
            summary.add_file(&o.file);
            summary.merge(&o.tally.summary);
            timeline.merge(o.tally.timeline);
            if o.file.status == FileStatus::Error && !args.quiet {
                progress.suspend(|| {
                    eprintln!(
                        "skimhunt: {}: {}",
                        crate::text::sanitize(&o.file.path),
                        crate::text::sanitize(o.file.reason.as_deref().unwrap_or("error"))
                    )
                });
            }
            if rendered {
                emitter.file_rendered(&o.file, o.rendered)
            } else {
                emitter.file_stream(&o.file, &mut o.findings.replay()?)
            }
        });
        progress.finish();
        scanned.map_err(io_err)?;
        let mut rep = detect::finish(&detectors, detect_state);
        let mut tally = Tally::default();
        if let Some(suppressor) = &cfg.suppressor {
            rep.findings.retain(|f| {
                let Some((root, rel)) = roots.get(&f.path) else {
                    return true;
                };
                match suppressor.check(f, root, rel) {
                    Some(Suppressed::Baselined) => tally.summary.baselined += 1,
                    Some(Suppressed::Ignored) => tally.summary.ignored += 1,
                    None => return true,
                }
                false
            });
        }
        for f in &rep.findings {
            tally.add(f);
        }
        summary.merge(&tally.summary);
        timeline.merge(tally.timeline);
        let sections = ReportSections {
            drift: rep.drift,
            exposure: rep.exposure,
            timeline,
        };
        emitter.sections(&rep.findings, &sections).map_err(io_err)?;
        exposure = sections.exposure;
        let mut header = header;
        header.scan.finished = Some(Timestamp::now());
        emitter.finish(&header, &summary).map_err(io_err)
    };
    result?;
    sink.commit()?;
    if let (Some(path), Some(e)) = (&args.exposure_csv, &exposure) {
        write_exposure_csv(path, e)?;
    }

    if !args.quiet {
        eprint!("{}", human_summary(&summary, &cfg.window, engine.rules()));
    }
    let threshold = match args.fail_on {
        FailOn::Never => None,
        FailOn::Informational => Some(Level::Informational),
        FailOn::Low => Some(Level::Low),
        FailOn::Medium => Some(Level::Medium),
        FailOn::High => Some(Level::High),
        FailOn::Critical => Some(Level::Critical),
    };
    let failed = match (threshold, summary.max_level()) {
        (Some(t), Some(m)) => m >= t,
        _ => false,
    };
    // Files the user left out (filters, ignore files, the report itself)
    // are in the report as skipped, but nothing went unexamined unnoticed.
    let excluded = entries
        .iter()
        .filter(|e| matches!(e.disposition, Disposition::Excluded(_)))
        .count() as u64;
    let unexamined = summary.files.skipped.saturating_sub(excluded);
    let incomplete = if internal_errors > 0 {
        // Always a failure: the tool, not the input, is at fault.
        Some(format!(
            "internal error while scanning {internal_errors} file(s), a bug in skimhunt: \
             please report it (the report lists the file(s) as errors and covers the rest)"
        ))
    } else {
        (args.strict && (unexamined > 0 || summary.files.errors > 0)).then(|| {
            format!(
                "--strict: {unexamined} files skipped and {} with errors (see the report's files list)",
                summary.files.errors
            )
        })
    };
    Ok(ScanOutcome {
        summary,
        failed,
        incomplete,
    })
}

/// The host's time zone: its IANA name when known, else its current UTC
/// offset; "unknown" when neither can be found.
pub fn host_time_zone() -> String {
    match TimeZone::try_system() {
        Ok(tz) => match tz.iana_name() {
            Some(n) => n.to_string(),
            None => tz.to_offset(Timestamp::now()).to_string(),
        },
        Err(_) => "unknown".to_string(),
    }
}

/// Scans entries in parallel and hands the outcomes to `sink` in entry
/// order, as soon as each one's predecessors are done: output is identical
/// for any thread count, and findings stream instead of piling up.
pub fn scan_all(
    pool: &rayon::ThreadPool,
    entries: &[discover::Entry],
    engine: &Engine,
    cfg: &ScanConfig,
    progress: &Progress,
    mut sink: impl FnMut(FileOutcome) -> io::Result<()>,
) -> io::Result<()> {
    let (tx, rx) = mpsc::channel::<(usize, FileOutcome)>();
    let cancelled = AtomicBool::new(false);
    // Files are taken in order, one per worker at a time, so outcomes
    // arrive nearly in order and at most about one per worker waits for an
    // earlier file: a parallel iterator would split the list in halves and
    // hold every outcome of the second half (findings, detector state)
    // until the first half is done. Chunks of one file still spread over
    // the pool.
    let next_entry = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let cancelled = &cancelled;
        let next_entry = &next_entry;
        s.spawn(move || {
            pool.install(|| {
                rayon::scope(|sc| {
                    for _ in 0..rayon::current_num_threads() {
                        let tx = tx.clone();
                        sc.spawn(move |_| {
                            loop {
                                let i = next_entry.fetch_add(1, Ordering::Relaxed);
                                if i >= entries.len() || cancelled.load(Ordering::Relaxed) {
                                    return;
                                }
                                let e = &entries[i];
                                let o = scan::isolated(&e.display, || {
                                    scan::scan_entry(e, engine, cfg, progress)
                                });
                                if tx.send((i, o)).is_err() {
                                    return;
                                }
                            }
                        });
                    }
                    drop(tx);
                })
            })
        });
        let mut pending = BTreeMap::new();
        let mut next = 0usize;
        let mut result = Ok(());
        for (i, o) in rx {
            if result.is_err() {
                continue;
            }
            pending.insert(i, o);
            while let Some(o) = pending.remove(&next) {
                next += 1;
                if let Err(e) = sink(o) {
                    cancelled.store(true, Ordering::Relaxed);
                    result = Err(e);
                    break;
                }
            }
        }
        result
    })
}

/// The report's `scan.detectors`.
fn detector_names(builtin: bool, iocs: bool) -> Vec<&'static str> {
    let mut v = Vec::new();
    if builtin {
        v.extend(["drift", "exposure", "lookalike"]);
    }
    if iocs {
        v.push("ioc");
    }
    v
}

/// Writes the exposure CSV next to its target and renames it into place.
fn write_exposure_csv(path: &Path, e: &detect::exposure::Exposure) -> Result<(), Error> {
    let mut out = Output::create(Some(path))?;
    e.write_csv(&mut out.writer).map_err(|source| Error::Io {
        what: format!("writing {}", path.display()),
        source,
    })?;
    out.commit()
}

/// The report destination: standard output, or a temporary file beside the
/// target renamed into place on success, so a failed run never leaves half a
/// report under the requested name.
struct Output {
    writer: BufWriter<Box<dyn Write>>,
    target: Option<(PathBuf, PathBuf)>,
}

impl Output {
    fn create(path: Option<&Path>) -> Result<Output, Error> {
        match path {
            None => Ok(Output {
                writer: BufWriter::with_capacity(1 << 16, Box::new(io::stdout())),
                target: None,
            }),
            // A device, FIFO or socket (`-o /dev/null`, `-o /dev/stdout`) is
            // written in place: renaming over it would replace the device
            // node with a regular file (it did, and broke /dev/null for every
            // later process on the machine).
            Some(p) if fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir()) => {
                let f = fs::OpenOptions::new()
                    .write(true)
                    .open(p)
                    .map_err(|source| Error::Io {
                        what: format!("opening {}", p.display()),
                        source,
                    })?;
                Ok(Output {
                    writer: BufWriter::with_capacity(1 << 16, Box::new(f)),
                    target: None,
                })
            }
            Some(p) => {
                let dir = p
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let tmp = dir.join(format!(".{name}.skimhunt-{}.tmp", std::process::id()));
                let f = fs::File::create(&tmp).map_err(|source| Error::Io {
                    what: format!("creating {}", tmp.display()),
                    source,
                })?;
                Ok(Output {
                    writer: BufWriter::with_capacity(1 << 16, Box::new(f)),
                    target: Some((tmp, p.to_path_buf())),
                })
            }
        }
    }

    fn commit(mut self) -> Result<(), Error> {
        self.writer.flush().map_err(|source| Error::Io {
            what: "writing the report".into(),
            source,
        })?;
        if let Some((tmp, target)) = self.target.take() {
            fs::rename(&tmp, &target).map_err(|source| Error::Io {
                what: format!("renaming the report to {}", target.display()),
                source,
            })?;
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // Reached with a target only when the run failed before commit.
        if let Some((tmp, _)) = &self.target {
            let _ = fs::remove_file(tmp);
        }
    }
}

fn human_summary(s: &Summary, w: &Window, rules: &[Rule]) -> String {
    let mut out = String::new();
    let bound = |t: Option<Timestamp>| t.map_or("-".to_string(), |t| t.to_string());
    out.push_str(&format!(
        "skimhunt: {} files scanned, {} skipped, {} errors; {} records ({} in window, {} outside, {} undated)\n",
        s.files.scanned, s.files.skipped, s.files.errors, s.records, s.in_window, s.out_of_window, s.undated
    ));
    if w.is_unbounded() {
        out.push_str("skimhunt: no time window\n");
    } else {
        out.push_str(&format!(
            "skimhunt: window {} .. {}\n",
            bound(w.since),
            bound(w.until)
        ));
    }
    if s.baselined + s.ignored > 0 {
        out.push_str(&format!(
            "skimhunt: suppressed {} baselined, {} ignored (not counted below)\n",
            s.baselined, s.ignored
        ));
    }
    if s.findings == 0 {
        out.push_str("skimhunt: no findings\n");
        return out;
    }
    let levels: Vec<String> = s
        .by_level
        .iter()
        .rev()
        .map(|(l, n)| format!("{n} {l}"))
        .collect();
    out.push_str(&format!(
        "skimhunt: {} findings: {}\n",
        s.findings,
        levels.join(", ")
    ));
    let title = |id: &str| {
        rules
            .iter()
            .find(|r| r.id == id)
            .map_or(String::new(), |r| r.title.clone())
    };
    let mut by_rule: Vec<(&String, &u64)> = s.by_rule.iter().collect();
    by_rule.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (id, n) in by_rule {
        out.push_str(&format!("  {n:>8}  {id}  {}\n", title(id)));
    }
    out
}

/// `skimhunt rules list`: one rule a line (tab-separated), or a JSON array.
pub fn rules_list(
    src: &RuleSourceArgs,
    format: ListFormat,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let mut loaded = pack::load(&src.rules, src.no_default_rules)?;
    crate::patterns::extend(&mut loaded, src.patterns.as_deref(), src.pattern_category)?;
    let io_err = |source| Error::Io {
        what: "writing the list".into(),
        source,
    };
    if format == ListFormat::Json {
        let list: Vec<serde_json::Value> = loaded
            .rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id,
                    "title": r.title,
                    "level": r.level,
                    "category": r.category,
                    "status": r.status,
                    "description": r.description,
                    "references": r.references,
                    "tags": r.tags,
                    "source": r.source,
                    "line": r.line,
                    "tests": {
                        "match": r.tests.matches.len(),
                        "nomatch": r.tests.nomatches.len(),
                    },
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &list).map_err(|e| io_err(e.into()))?;
        writeln!(out).map_err(io_err)?;
        return Ok(());
    }
    writeln!(out, "id\tlevel\tcategory\ttitle\tsource").map_err(io_err)?;
    for r in &loaded.rules {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            r.id, r.level, r.category, r.title, r.source
        )
        .map_err(io_err)?;
    }
    Ok(())
}

/// Turns a rule's test sample into a record with the format it names (or the
/// one detected from the sample).
pub fn sample_record<'a>(line: &'a [u8], fmt: Option<&str>) -> Record<'a> {
    let f = fmt
        .and_then(|f| f.parse::<LogFormat>().ok())
        .unwrap_or_else(|| format::detect(line));
    let parser = LineParser::new(
        f,
        ParseOptions {
            tz: TimeZone::UTC,
            year: 2017,
        },
    );
    parser.record(line)
}

/// Runs every rule's embedded samples; returns (rules tested, failures as
/// printable lines).
pub fn test_rules(rules: &[Rule]) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    for r in rules {
        for f in r.run_tests(sample_record) {
            failures.push(format!(
                "{}: rule {} ({}): sample should {}: {}",
                r.source,
                r.id,
                r.title,
                if f.expected_match {
                    "match but did not"
                } else {
                    "not match but did"
                },
                crate::text::sanitize(&crate::card::mask_text(&f.sample))
            ));
        }
    }
    (rules.len(), failures)
}

/// `skimhunt rules test`: true when every sample behaved.
pub fn rules_test(paths: &[PathBuf], out: &mut dyn Write) -> Result<bool, Error> {
    let loaded = pack::load(paths, !paths.is_empty())?;
    let (n, failures) = test_rules(&loaded.rules);
    let io_err = |source| Error::Io {
        what: "writing results".into(),
        source,
    };
    for f in &failures {
        writeln!(out, "FAIL {f}").map_err(io_err)?;
    }
    writeln!(
        out,
        "{} rules tested, {} sample failures",
        n,
        failures.len()
    )
    .map_err(io_err)?;
    Ok(failures.is_empty())
}

/// `skimhunt rules check`: loads every file (a file that does not load is an
/// error, exit 2) and lints the rules together; returns true when clean.
pub fn rules_check(paths: &[PathBuf], out: &mut dyn Write) -> Result<bool, Error> {
    let mut rules = Vec::new();
    for p in paths {
        for (name, text) in pack::read_rule_files(p)? {
            rules.extend(crate::rules::load_str(&text, &name)?);
        }
    }
    let problems = crate::rules::lint(&rules);
    let io_err = |source| Error::Io {
        what: "writing results".into(),
        source,
    };
    for p in &problems {
        writeln!(out, "{}", crate::text::sanitize(p)).map_err(io_err)?;
    }
    writeln!(
        out,
        "{} rules checked, {} problems",
        rules.len(),
        problems.len()
    )
    .map_err(io_err)?;
    Ok(problems.is_empty())
}

/// `skimhunt completions SHELL`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "skimhunt", out);
}

/// `skimhunt man`: the roff man page, with every subcommand's options.
pub fn man(out: &mut dyn Write) -> Result<(), Error> {
    let cmd = <crate::cli::Cli as clap::CommandFactory>::command();
    let io_err = |source| Error::Io {
        what: "writing the man page".into(),
        source,
    };
    let man = clap_mangen::Man::new(cmd.clone());
    man.render(out).map_err(io_err)?;
    // The top page lists subcommands only; append each one's own page body
    // so every flag is documented in the one page.
    for sub in cmd.get_subcommands() {
        render_sub(sub, "skimhunt", out).map_err(io_err)?;
    }
    Ok(())
}

fn render_sub(sub: &clap::Command, prefix: &str, out: &mut dyn Write) -> io::Result<()> {
    let name = format!("{prefix} {}", sub.get_name());
    writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
    let sub_named = sub.clone().bin_name(name.clone());
    let man = clap_mangen::Man::new(sub_named);
    man.render_description_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_options_section(out)?;
    for s in sub.get_subcommands() {
        render_sub(s, &name, out)?;
    }
    Ok(())
}
