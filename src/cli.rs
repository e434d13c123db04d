//! Command-line definitions. The doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::format::LogFormat;

/// Find card skimmers and injected scripts in web-server, CDN, chat-service
/// and CSP logs, inside an incident's time window.
#[derive(Debug, Parser)]
#[command(name = "skimhunt", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan log files and directories and report findings.
    Scan(Box<ScanArgs>),
    /// Inspect and test rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print a shell completion script (e.g. `skimhunt completions bash >
    /// /etc/bash_completion.d/skimhunt`).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on standard output.
    Man,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules in use: id, level, category, title and source file.
    List(RulesListArgs),
    /// Load rule files and lint them (duplicate ids, missing level,
    /// references or test samples); exit 1 on problems, 2 when a file does
    /// not load.
    Check {
        /// Rule files or directories of .yml/.yaml files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Run the test samples embedded in rule files (the built-in pack when no
    /// PATH is given); exit 1 on any failure.
    Test {
        /// Rule files or directories of .yml/.yaml files.
        paths: Vec<PathBuf>,
    },
}

/// Where rules come from.
#[derive(Debug, Args, Clone, Default)]
pub struct RuleSourceArgs {
    /// Add a rule file, or a directory of .yml/.yaml rule files (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in rule pack, nor run the built-in detectors
    /// (script drift, exposure, look-alike hosts): only the given --rules,
    /// --patterns and --ioc lists apply, and the report's drift and exposure
    /// are null.
    #[arg(long)]
    pub no_default_rules: bool,
    /// Add one rule per line of FILE: each line a regex (ripgrep/grep `-f`
    /// syntax; `#` is not a comment) matched against the raw line, with id
    /// `pattern:<line number>` and level medium.
    #[arg(long, value_name = "FILE")]
    pub patterns: Option<PathBuf>,
    /// Category of the --patterns rules: injected-script (default),
    /// card-skimming, card-exposure or web-attack.
    #[arg(long, value_name = "CATEGORY")]
    pub pattern_category: Option<crate::level::Category>,
}

/// `skimhunt rules list` options.
#[derive(Debug, Args, Clone)]
pub struct RulesListArgs {
    #[command(flatten)]
    pub src: RuleSourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

/// Formats of `skimhunt rules list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Tab-separated, with a header line.
    Text,
    /// One JSON array of rule objects.
    Json,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One JSON report: scan metadata, summary, files and sorted findings.
    Json,
    /// One finding per line as the scan goes, then one summary line.
    Jsonl,
    /// SARIF 2.1.0 for code-scanning tools (GitHub code scanning).
    Sarif,
    /// One finding a row (spreadsheet-safe), with a header row.
    Csv,
    /// A human listing for terminals (coloured when standard output is one).
    Text,
    /// A self-contained HTML incident report (use with -o report.html).
    Html,
}

/// Whether records without a parseable time are scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Undated {
    /// Scan them, count them as undated; their findings carry a null timestamp.
    Include,
    /// Leave them out, like records outside the window.
    Exclude,
}

/// The lowest finding level that makes the exit code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Informational,
    Low,
    Medium,
    High,
    Critical,
    /// Never exit 1 because of findings.
    Never,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Start of the time window (inclusive): RFC 3339 (`2017-09-26T00:00:00Z`),
    /// a date (`2017-09-26`, the start of that day) or `YYYY-MM-DD[T ]HH:MM[:SS]`
    /// read in --tz.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// End of the time window (inclusive); a date means the end of that day.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Widen both ends of the window by this span (`1d`, `12h`, `30m`), since
    /// sources often disagree on incident dates.
    #[arg(long, value_name = "SPAN")]
    pub pad: Option<String>,
    /// Time zone (IANA name such as `America/New_York`, or an offset such as
    /// `-04:00`) for civil --since/--until and for logs whose times carry no zone.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,
    /// Year for syslog (RFC 3164) lines, which carry none; defaults to each
    /// file's modification year.
    #[arg(long, value_name = "YEAR")]
    pub year: Option<i16>,
    /// Record format of every input, instead of detecting it per file.
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    #[command(flatten)]
    pub rules: RuleSourceArgs,

    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: OutputFormat,
    /// Write the report to FILE (atomically: a temporary file renamed at the end)
    /// instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Worker threads (default: the number of CPUs).
    #[arg(short = 'j', long = "threads", value_name = "N")]
    pub threads: Option<usize>,
    /// Scan only files whose path or name matches GLOB (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files and directories whose path or name matches GLOB (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Follow symbolic links while walking directories (loops are detected).
    #[arg(long)]
    pub follow: bool,
    /// Record the SHA-256 of every input file, as stored (compressed bytes
    /// for archives), in the report's files list.
    #[arg(long)]
    pub hash: bool,
    /// Exit with code 2 when any input went unexamined (skipped other than
    /// by --include, --exclude or an ignore file) or could not be read
    /// completely, so nothing goes unexamined unnoticed.
    #[arg(long)]
    pub strict: bool,
    /// Scan or leave out records that have no parseable time.
    #[arg(long, value_enum, default_value = "include")]
    pub undated: Undated,

    /// Key for the card-number fingerprints (HMAC-SHA256), so fingerprints can
    /// be compared across runs; default: a random key per run.
    #[arg(
        long,
        value_name = "KEY",
        env = "SKIMHUNT_PAN_KEY",
        hide_env_values = true
    )]
    pub pan_key: Option<String>,

    /// Treat paths matching GLOB as static script assets for drift, besides
    /// `*.js` (repeatable; matched against the request path).
    #[arg(long = "asset", value_name = "GLOB")]
    pub assets: Vec<String>,
    /// Payment-page path regex for exposure and payment referers (repeatable;
    /// default: checkout, payment(s), billing, cart and basket path segments).
    /// Matched against the request's path without its query, so `^` and `$`
    /// anchor to the path; a pattern with an anchor or `\b` has every line
    /// parsed to test its path (slower than an unanchored one). Static files
    /// (scripts, styles, images, fonts, media, `--asset` paths) never count
    /// as payment pages, whatever their names.
    #[arg(long = "payment-path", value_name = "REGEX")]
    pub payment_paths: Vec<String>,
    /// Write every exposed session (one row each, no card data) to FILE as CSV.
    #[arg(long, value_name = "FILE")]
    pub exposure_csv: Option<PathBuf>,
    /// IOC list: one domain or URL per line, `#` comments (repeatable); hits
    /// are findings naming the list and the entry.
    #[arg(long = "ioc", value_name = "FILE")]
    pub iocs: Vec<PathBuf>,
    /// A domain of your own to protect from look-alike hosts, besides the
    /// built-in script and payment providers (repeatable).
    #[arg(long = "own-domain", value_name = "DOMAIN")]
    pub own_domains: Vec<String>,

    /// Suppress findings whose fingerprint is in this earlier JSON or JSONL
    /// report (counted as `baselined`).
    #[arg(long, value_name = "REPORT")]
    pub baseline: Option<PathBuf>,
    /// Suppress findings listed in this ignore file (fingerprints or
    /// `rule-id:path-glob` lines, `#` comments), in addition to the
    /// `.skimhuntignore` of each scanned directory (counted as `ignored`).
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,

    /// Exit with code 1 when a finding at or above this level exists
    /// (suppressed findings do not count).
    #[arg(long, value_enum, default_value = "low")]
    pub fail_on: FailOn,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// No progress bar and no summary on standard error.
    #[arg(short, long)]
    pub quiet: bool,
}
