//! `--format html`: one self-contained incident report (inline CSS, inline
//! SVG, inline JS; a Content-Security-Policy that forbids any network load)
//! for people who will not read JSON.
//!
//! The page is a list of sections, [`SECTIONS`]: each one is a function that
//! appends its HTML given the whole [`ReportData`]. Adding a section (e.g. the
//! drift or exposure summaries) means writing one such function and adding
//! one line to that list; if it needs data the emitter does not keep yet, add
//! a field to `ReportData` and fill it in `file()`/`finish()`.
//!
//! Everything from logs or rule files is escaped with [`escape`]; the JSON
//! embedded for the script escapes `<`, `>` and `&` so no value can close the
//! script element.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use jiff::Timestamp;

use super::{Emitter, FileReport, FileStatus, Finding, Header, Summary};
use crate::level::{Category, Level};
use crate::rules::Rule;

/// At most this many findings become table rows (the rest are counted): a
/// report must stay openable in a browser whatever the scan found.
pub const MAX_ROWS: usize = 5000;
/// At most this many bars in the timeline; longer spans use wider buckets.
const MAX_BUCKETS: i64 = 400;

const CATEGORIES: [Category; 4] = [
    Category::InjectedScript,
    Category::CardSkimming,
    Category::CardExposure,
    Category::WebAttack,
];

fn category_color(c: Category) -> &'static str {
    match c {
        Category::InjectedScript => "#d9480f",
        Category::CardSkimming => "#c2255c",
        Category::CardExposure => "#5f3dc4",
        Category::WebAttack => "#1971c2",
    }
}

/// HTML-escapes text for element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters have no business in a report; show them.
            c if c.is_control() && c != '\t' && c != '\n' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// JSON that is safe inside `<script>`: `<`, `>` and `&` become `\u00XX`.
pub fn script_json(v: &serde_json::Value) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// What the sections render from.
pub struct ReportData<'a> {
    pub header: &'a Header,
    pub summary: &'a Summary,
    pub files: &'a [FileReport],
    /// The first [`MAX_ROWS`] findings in report order.
    pub findings: &'a [Finding],
    /// Findings per (UTC day as days since the epoch, category), all of them.
    pub per_day: &'a BTreeMap<(i64, Category), u64>,
    /// Rule id → title and level, for the top-rules table.
    pub rules: &'a BTreeMap<String, (String, Level)>,
    /// Drift, exposure and timeline, when the detectors ran.
    pub sections: Option<&'a crate::detect::ReportSections>,
}

/// A section: its element id, heading and renderer.
pub type Section = (&'static str, &'static str, fn(&ReportData, &mut String));

/// The page's sections in order.
pub const SECTIONS: &[Section] = &[
    ("scope", "Scope", section_scope),
    ("timeline", "Timeline", section_timeline),
    ("top-rules", "Top rules", section_top_rules),
    ("drift", "Script drift", section_drift),
    ("exposure", "Exposure", section_exposure),
    ("findings", "Findings", section_findings),
    ("files", "Files", section_files),
];

pub struct HtmlEmitter<W: Write> {
    out: W,
    files: Vec<FileReport>,
    findings: Vec<Finding>,
    per_day: BTreeMap<(i64, Category), u64>,
    rules: BTreeMap<String, (String, Level)>,
    sections: Option<crate::detect::ReportSections>,
}

impl<W: Write> HtmlEmitter<W> {
    pub fn new(out: W, rules: &[Rule]) -> Self {
        HtmlEmitter {
            out,
            files: Vec::new(),
            findings: Vec::new(),
            per_day: BTreeMap::new(),
            rules: rules
                .iter()
                .map(|r| (r.id.clone(), (r.title.clone(), r.level)))
                .collect(),
            sections: None,
        }
    }
}

fn day_of(t: Timestamp) -> i64 {
    t.as_second().div_euclid(86_400)
}

fn day_label(day: i64) -> String {
    Timestamp::from_second(day.saturating_mul(86_400))
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| day.to_string())
}

impl<W: Write> Emitter for HtmlEmitter<W> {
    fn begin(&mut self, _header: &Header) -> io::Result<()> {
        Ok(())
    }

    fn file_stream(
        &mut self,
        file: &FileReport,
        findings: &mut dyn Iterator<Item = io::Result<Finding>>,
    ) -> io::Result<()> {
        self.files.push(file.clone());
        for f in findings {
            let f = f?;
            if let Some(t) = f.timestamp {
                *self.per_day.entry((day_of(t), f.category)).or_default() += 1;
            }
            if self.findings.len() < MAX_ROWS {
                self.findings.push(f);
            }
        }
        Ok(())
    }

    fn sections(
        &mut self,
        findings: &[Finding],
        sections: &crate::detect::ReportSections,
    ) -> io::Result<()> {
        for f in findings {
            if let Some(t) = f.timestamp {
                *self.per_day.entry((day_of(t), f.category)).or_default() += 1;
            }
            if self.findings.len() < MAX_ROWS {
                self.findings.push(f.clone());
            }
        }
        self.sections = Some(sections.clone());
        Ok(())
    }

    fn finish(&mut self, header: &Header, summary: &Summary) -> io::Result<()> {
        let data = ReportData {
            sections: self.sections.as_ref(),
            header,
            summary,
            files: &self.files,
            findings: &self.findings,
            per_day: &self.per_day,
            rules: &self.rules,
        };
        let page = render(&data);
        self.out.write_all(page.as_bytes())?;
        self.out.flush()
    }
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#212529;background:#f8f9fa}
header{background:#212529;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
main{padding:8px 24px 40px;max-width:1400px}
section{background:#fff;border:1px solid #dee2e6;border-radius:6px;margin:16px 0;padding:12px 16px}
h2{font-size:16px;margin:4px 0 10px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e9ecef;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f1f3f5;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{font-weight:600}dd{margin:0}
code,.ev{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.dec{color:#555}
.lvl{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px}
.lvl-critical{background:#862e9c}.lvl-high{background:#c92a2a}.lvl-medium{background:#e67700}.lvl-low{background:#1098ad}.lvl-informational{background:#868e96}
.filters{display:flex;gap:16px;align-items:center;margin-bottom:8px;flex-wrap:wrap}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.note{color:#868e96}
"#;

const SCRIPT: &str = r#"
(function(){
  var order={informational:0,low:1,medium:2,high:3,critical:4};
  var cat=document.getElementById('filter-category');
  var lvl=document.getElementById('filter-level');
  var txt=document.getElementById('filter-text');
  var shown=document.getElementById('shown-count');
  var rows=document.querySelectorAll('#findings-table tbody tr');
  function apply(){
    var c=cat.value,l=order[lvl.value]||0,t=txt.value.toLowerCase(),n=0;
    for(var i=0;i<rows.length;i++){
      var r=rows[i];
      var ok=(c===''||r.getAttribute('data-category')===c)
        &&order[r.getAttribute('data-level')]>=l
        &&(t===''||r.textContent.toLowerCase().indexOf(t)>=0);
      r.hidden=!ok;if(ok)n++;
    }
    shown.textContent=String(n);
  }
  // Filters can be preset from the URL, e.g. report.html#category=card-exposure&level=high,
  // so a filtered view can be shared as a link.
  var h=location.hash.replace(/^#/,'').split('&');
  for(var k=0;k<h.length;k++){
    var kv=h[k].split('='),v=decodeURIComponent(kv[1]||'');
    if(kv[0]==='category')cat.value=v;
    if(kv[0]==='level'&&order.hasOwnProperty(v))lvl.value=v;
    if(kv[0]==='q')txt.value=v;
  }
  cat.addEventListener('change',apply);lvl.addEventListener('change',apply);txt.addEventListener('input',apply);
  apply();
  document.getElementById('filters').setAttribute('data-ready','1');
})();
"#;

/// The whole page.
pub fn render(d: &ReportData) -> String {
    let mut out = String::with_capacity(64 * 1024 + d.findings.len() * 512);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // No network at all: everything the page needs is inline.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<title>skimhunt report: {} findings</title>",
        d.summary.findings
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(
        out,
        "<header><h1>skimhunt incident report</h1><div>{} {} &middot; {} findings &middot; generated {}</div></header>\n<main>",
        escape(d.header.tool.name),
        escape(d.header.tool.version),
        d.summary.findings,
        escape(
            &d.header
                .scan
                .finished
                .unwrap_or(d.header.scan.started)
                .to_string()
        )
    );
    for (id, title, render_section) in SECTIONS {
        let _ = writeln!(out, "<section id=\"{id}\"><h2>{}</h2>", escape(title));
        render_section(d, &mut out);
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n");
    let data = serde_json::json!({
        "summary": d.summary,
        "window": d.header.window,
    });
    let _ = writeln!(
        out,
        "<script type=\"application/json\" id=\"skimhunt-data\">{}</script>",
        script_json(&data)
    );
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    out
}

fn ts(t: Option<Timestamp>) -> String {
    t.map_or("(open)".to_string(), |t| t.to_string())
}

fn section_scope(d: &ReportData, out: &mut String) {
    let s = d.summary;
    let h = d.header;
    let args: Vec<&str> = h
        .scan
        .command_line
        .iter()
        .skip(1)
        .map(String::as_str)
        .collect();
    out.push_str("<dl>");
    let mut row = |k: &str, v: String| {
        let _ = write!(out, "<dt>{}</dt><dd>{v}</dd>", escape(k));
    };
    row(
        "Window (UTC)",
        format!(
            "{} &ndash; {}",
            escape(&ts(h.window.since)),
            escape(&ts(h.window.until))
        ),
    );
    row(
        "Command",
        format!("<code>{}</code>", escape(&args.join(" "))),
    );
    row(
        "Files",
        format!(
            "{} scanned, {} skipped, {} errors ({} bytes)",
            s.files.scanned, s.files.skipped, s.files.errors, s.bytes
        ),
    );
    row(
        "Records",
        format!(
            "{} ({} in window, {} outside, {} undated)",
            s.records, s.in_window, s.out_of_window, s.undated
        ),
    );
    let levels: Vec<String> = s
        .by_level
        .iter()
        .rev()
        .map(|(l, n)| format!("<span class=\"lvl lvl-{l}\">{n} {l}</span>"))
        .collect();
    row("Findings", format!("{} {}", s.findings, levels.join(" ")));
    row(
        "Suppressed",
        format!("{} baselined, {} ignored", s.baselined, s.ignored),
    );
    row(
        "Rules",
        format!(
            "{} (pack SHA-256 <code>{}</code>)",
            h.scan.rules.count,
            escape(&h.scan.rules.sha256)
        ),
    );
    row(
        "Scan time",
        format!(
            "{} &ndash; {}",
            escape(&h.scan.started.to_string()),
            escape(&ts(h.scan.finished))
        ),
    );
    out.push_str("</dl>\n");
}

/// Stacked bars of findings per UTC day (or per N days on long spans) by
/// category, with the window shaded.
fn section_timeline(d: &ReportData, out: &mut String) {
    let days: Vec<i64> = d.per_day.keys().map(|(day, _)| *day).collect();
    let (Some(&first), Some(&last)) = (days.iter().min(), days.iter().max()) else {
        out.push_str("<p class=\"note\">No dated findings to chart.</p>\n");
        return;
    };
    // The chart spans the findings and the window's ends (when bounded and
    // not absurdly far), so the shaded window is in view.
    let mut lo = first;
    let mut hi = last;
    for t in [d.header.window.since, d.header.window.until]
        .into_iter()
        .flatten()
    {
        let day = day_of(t);
        if (day - first).abs() <= 3 * 366 && (day - last).abs() <= 3 * 366 {
            lo = lo.min(day);
            hi = hi.max(day);
        }
    }
    let span = hi - lo + 1;
    let width_days = ((span + MAX_BUCKETS - 1) / MAX_BUCKETS).max(1);
    let buckets = ((span + width_days - 1) / width_days) as usize;
    let mut counts = vec![[0u64; 4]; buckets];
    for ((day, cat), n) in d.per_day {
        let b = ((day - lo) / width_days) as usize;
        let ci = CATEGORIES.iter().position(|c| c == cat).unwrap_or(3);
        if let Some(slot) = counts.get_mut(b) {
            slot[ci] += n;
        }
    }
    let max = counts
        .iter()
        .map(|c| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, h, left, bottom, top) = (1200.0f64, 260.0f64, 48.0f64, 36.0f64, 12.0f64);
    let plot_w = w - left - 12.0;
    let plot_h = h - bottom - top;
    let bw = plot_w / buckets as f64;
    let x_of_day = |day: f64| left + (day - lo as f64) / width_days as f64 * bw;
    let _ = writeln!(
        out,
        "<svg id=\"timeline-svg\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"Findings per {} by category\">",
        if width_days == 1 {
            "UTC day".to_string()
        } else {
            format!("{width_days} UTC days")
        }
    );
    // Window shading.
    if d.header.window.since.is_some() || d.header.window.until.is_some() {
        let ws = d
            .header
            .window
            .since
            .map_or(lo as f64, |t| t.as_second() as f64 / 86_400.0)
            .clamp(lo as f64, (hi + 1) as f64);
        let we = d
            .header
            .window
            .until
            .map_or((hi + 1) as f64, |t| t.as_second() as f64 / 86_400.0)
            .clamp(lo as f64, (hi + 1) as f64);
        if we > ws {
            let _ = writeln!(
                out,
                "<rect class=\"window\" x=\"{:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{plot_h}\" fill=\"#ffe8cc\"><title>incident window</title></rect>",
                x_of_day(ws),
                (x_of_day(we) - x_of_day(ws)).max(1.0)
            );
        }
    }
    // Axes.
    let base = top + plot_h;
    let _ = writeln!(
        out,
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#495057\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{base}\" stroke=\"#495057\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{max}</text>\
         <text x=\"{}\" y=\"{base}\" font-size=\"11\" text-anchor=\"end\">0</text>",
        left + plot_w,
        left - 4.0,
        top + 10.0,
        left - 4.0
    );
    // Bars.
    for (i, c) in counts.iter().enumerate() {
        let mut y = base;
        let x = left + i as f64 * bw;
        for (ci, n) in c.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let bh = *n as f64 / max as f64 * plot_h;
            y -= bh;
            let day = lo + i as i64 * width_days;
            let _ = writeln!(
                out,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{} {}: {n}</title></rect>",
                (bw - 1.0).max(0.5),
                category_color(CATEGORIES[ci]),
                day_label(day),
                CATEGORIES[ci].as_str()
            );
        }
    }
    // Date labels: about eight, evenly spaced.
    let step = (buckets / 8).max(1);
    for i in (0..buckets).step_by(step) {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            left + (i as f64 + 0.5) * bw,
            base + 16.0,
            day_label(lo + i as i64 * width_days)
        );
    }
    // Drift intervals: when each tampered script (or new widget build) was
    // served, as a band along the top of the plot, so the analyst sees the
    // compromise against the window and the findings.
    if let Some(dr) = d.sections.and_then(|s| s.drift.as_ref()) {
        for (k, item) in dr.items.iter().enumerate() {
            let (a, b) = (day_of(item.first_seen), day_of(item.last_seen));
            if b < lo || a > hi {
                continue;
            }
            let (a, b) = (a.max(lo) as f64, b.min(hi) as f64 + 1.0);
            let y = top + 2.0 + (k % 6) as f64 * 7.0;
            let _ = writeln!(
                out,
                "<rect class=\"drift\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"5\" fill=\"#212529\" opacity=\"0.75\"><title>drift: {} ({} .. {})</title></rect>",
                x_of_day(a),
                (x_of_day(b) - x_of_day(a)).max(2.0),
                escape(&item.asset),
                item.first_seen,
                item.last_seen
            );
        }
    }
    out.push_str("</svg>\n<div class=\"legend\">");
    for c in CATEGORIES {
        let _ = write!(
            out,
            "<span><i style=\"background:{}\"></i>{}</span>",
            category_color(c),
            c.as_str()
        );
    }
    out.push_str("<span><i style=\"background:#ffe8cc\"></i>incident window</span>");
    if d.sections
        .and_then(|s| s.drift.as_ref())
        .is_some_and(|dr| !dr.items.is_empty())
    {
        out.push_str(
            "<span><i style=\"background:#212529\"></i>script drift (served tampered)</span>",
        );
    }
    out.push_str("</div>\n");
}

fn section_top_rules(d: &ReportData, out: &mut String) {
    if d.summary.by_rule.is_empty() {
        out.push_str("<p class=\"note\">No findings.</p>\n");
        return;
    }
    let mut by_rule: Vec<(&String, &u64)> = d.summary.by_rule.iter().collect();
    by_rule.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    out.push_str(
        "<table id=\"top-rules-table\"><thead><tr><th>Findings</th><th>Rule</th><th>Title</th><th>Level</th></tr></thead><tbody>\n",
    );
    for (id, n) in by_rule.into_iter().take(20) {
        let (title, level) = d
            .rules
            .get(id)
            .map(|(t, l)| (t.as_str(), l.as_str()))
            .unwrap_or(("", ""));
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{n}</td><td><code>{}</code></td><td>{}</td><td><span class=\"lvl lvl-{level}\">{level}</span></td></tr>",
            escape(id),
            escape(title)
        );
    }
    out.push_str("</tbody></table>\n");
}

fn section_findings(d: &ReportData, out: &mut String) {
    out.push_str("<div class=\"filters\" id=\"filters\"><label>Category <select id=\"filter-category\"><option value=\"\">all</option>");
    for c in CATEGORIES {
        let _ = write!(out, "<option value=\"{0}\">{0}</option>", c.as_str());
    }
    out.push_str("</select></label><label>Level at least <select id=\"filter-level\">");
    for l in Level::ALL {
        let _ = write!(out, "<option value=\"{0}\">{0}</option>", l.as_str());
    }
    let _ = writeln!(
        out,
        "</select></label><label>Text <input id=\"filter-text\" type=\"search\"></label>\
         <span><span id=\"shown-count\">{}</span> of {} shown</span></div>",
        d.findings.len(),
        d.findings.len()
    );
    if (d.summary.findings as usize) > d.findings.len() {
        let _ = writeln!(
            out,
            "<p class=\"note\">The first {} of {} findings; the JSON or CSV report has them all.</p>",
            d.findings.len(),
            d.summary.findings
        );
    }
    out.push_str(
        "<table id=\"findings-table\"><thead><tr><th>Time (UTC)</th><th>Level</th><th>Category</th>\
         <th>Rule</th><th>File:line</th><th>Client</th><th>Card</th><th>Evidence (masked)</th></tr></thead><tbody>\n",
    );
    for f in d.findings {
        let card = f
            .pan
            .as_ref()
            .map(|p| format!("{} {}", p.masked, p.brand.as_str()))
            .unwrap_or_default();
        // A match in decoded text: what it decoded to, under the line.
        let decoded = f.decoded_evidence.as_ref().map_or(String::new(), |d| {
            format!(
                "<br><span class=\"dec\">decoded {}: {}</span>",
                escape(&f.decoded.join(", ")),
                escape(d)
            )
        });
        let _ = writeln!(
            out,
            "<tr data-category=\"{cat}\" data-level=\"{lvl}\" data-fingerprint=\"{}\"><td>{}</td>\
             <td><span class=\"lvl lvl-{lvl}\">{lvl}</span></td><td>{cat}</td>\
             <td><code>{}</code><br>{}</td><td><code>{}:{}</code></td><td>{}</td><td>{}</td><td class=\"ev\">{}{decoded}</td></tr>",
            escape(&f.fingerprint),
            escape(&f.timestamp.map_or("(undated)".into(), |t| t.to_string())),
            escape(&f.rule_id),
            escape(&f.rule_title),
            escape(&f.path),
            f.line,
            escape(f.fields.get("c-ip").unwrap_or("")),
            escape(&card),
            escape(&f.evidence),
            cat = f.category.as_str(),
            lvl = f.level.as_str(),
        );
    }
    out.push_str("</tbody></table>\n");
}

fn opt_time(t: Option<Timestamp>) -> String {
    t.map_or("-".to_string(), |t| t.to_string())
}

/// The drift and exposure sections of a scan without the built-in detectors.
const NOT_RUN: &str =
    "<p>Not run: the built-in detectors are off (<code>--no-default-rules</code>).</p>\n";

fn section_drift(d: &ReportData, out: &mut String) {
    let Some(dr) = d.sections.and_then(|s| s.drift.as_ref()) else {
        out.push_str(NOT_RUN);
        return;
    };
    let _ = writeln!(
        out,
        "<p>{} script assets tracked; {} out-of-window records before the window used for baselines, {} after it for reverts; {} unstable assets not judged.</p>",
        dr.assets_tracked, dr.baseline_records, dr.after_window_records, dr.unstable_count
    );
    if dr.items.is_empty() {
        out.push_str("<p>No drift.</p>\n");
        return;
    }
    out.push_str(
        "<table id=\"drift-table\"><thead><tr><th>Level</th><th>Kind</th><th>Asset</th><th>New</th>\
         <th>Baseline</th><th>First seen</th><th>Last seen</th><th>Requests</th><th>From payment pages</th>\
         <th>Reverted at</th></tr></thead><tbody>\n",
    );
    for i in &dr.items {
        let new = match (i.size, &i.build, i.split_by) {
            (Some(sz), _, _) => sz.to_string(),
            (_, Some(b), _) => b.clone(),
            (_, _, Some(by)) => format!("split by {by}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}%</td><td>{}</td></tr>",
            i.level.as_str(),
            i.kind,
            escape(&i.asset),
            escape(&new),
            escape(&i.baseline_values.join(", ")),
            i.baseline,
            i.first_seen,
            i.last_seen,
            i.requests,
            i.payment_referer_share * 100.0,
            opt_time(i.reverted_at)
        );
    }
    out.push_str("</tbody></table>\n");
}

fn section_exposure(d: &ReportData, out: &mut String) {
    let Some(e) = d.sections.and_then(|s| s.exposure.as_ref()) else {
        out.push_str(NOT_RUN);
        return;
    };
    let _ = writeln!(
        out,
        "<p>Interval {} .. {} (from the {}): <strong>{}</strong> sessions (client IP and user agent) from {} client IPs, {} payment-page requests, {} chat sessions that loaded the widget.{}</p>",
        opt_time(e.interval.since),
        opt_time(e.interval.until),
        e.interval.basis,
        e.sessions,
        e.client_ips,
        e.requests,
        e.chat_sessions,
        if e.truncated {
            " Truncated: too many events."
        } else {
            ""
        }
    );
    if e.by_day.is_empty() {
        return;
    }
    out.push_str(
        "<table id=\"exposure-table\"><thead><tr><th>Day (UTC)</th><th>Requests</th><th>Sessions</th>\
         <th>Chat sessions</th></tr></thead><tbody>\n",
    );
    for (day, c) in &e.by_day {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(day),
            c.requests,
            c.sessions,
            c.chat_sessions
        );
    }
    out.push_str("</tbody></table>\n");
}

fn section_files(d: &ReportData, out: &mut String) {
    out.push_str(
        "<table id=\"files-table\"><thead><tr><th>File</th><th>Status</th><th>Format</th>\
         <th>Records</th><th>In window</th><th>Findings</th><th>Note</th></tr></thead><tbody>\n",
    );
    for f in d.files {
        let status = match f.status {
            FileStatus::Scanned => "scanned",
            FileStatus::Skipped => "skipped",
            FileStatus::Error => "error",
        };
        let note = f.reason.as_deref().or(f.note.as_deref()).unwrap_or("");
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{status}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&f.path),
            escape(f.format.as_deref().unwrap_or("")),
            f.records,
            f.in_window,
            f.findings,
            escape(note)
        );
    }
    out.push_str("</tbody></table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_script_breakouts() {
        assert_eq!(
            escape("<script>\"a\"&'b'</script>\x1b"),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;\\u{1b}"
        );
        let v = serde_json::json!({"x": "</script><script>alert(1)</script>&"});
        let s = script_json(&v);
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn day_labels() {
        assert_eq!(day_label(0), "1970-01-01");
        let t: Timestamp = "2017-09-26T12:00:00Z".parse().unwrap();
        assert_eq!(day_label(day_of(t)), "2017-09-26");
    }
}
