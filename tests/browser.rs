//! The HTML report in a real browser (feature `browser`; `.ci/run` installs
//! Debian's chromium): headless Chromium loads the report of testdata's scan
//! from a file URL with networking disabled, the rendered DOM is checked, and
//! a screenshot is written to the target directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn headless(profile: &Path) -> Command {
    let mut c = Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn target_dir() -> PathBuf {
    // tests run from target/<profile>/deps/<test>; the screenshot goes in target/.
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
}

#[test]
fn report_renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report.html");
    let o = run(&[
        "scan",
        "testdata/incident",
        "--since",
        "2017-09-26",
        "--until",
        "2017-10-12",
        "--pan-key",
        "browser-key",
        "--quiet",
        "--format",
        "html",
        "-o",
        report.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let url = format!("file://{}", report.display());

    let dom = headless(&tmp.path().join("profile-dom"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium (install Debian's chromium or set CHROMIUM)");
    assert!(
        dom.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8(dom.stdout).unwrap();
    assert_no_full_pan("rendered DOM", &dom);

    // The table rows, the chart and the filter controls are rendered.
    // As many rows as the JSON report of the same scan has findings.
    let json = run(&[
        "scan",
        "testdata/incident",
        "--since",
        "2017-09-26",
        "--until",
        "2017-10-12",
        "--pan-key",
        "browser-key",
        "--quiet",
    ]);
    let n = stdout_json(&json)["summary"]["findings"].as_u64().unwrap() as usize;
    let rows = dom.matches("<tr data-category=").count();
    assert!(n > 50);
    assert_eq!(rows, n, "findings rows");
    // Drift intervals are marked on the timeline, and the drift and exposure
    // sections are rendered.
    assert!(
        dom.contains("class=\"drift\""),
        "drift interval on the timeline"
    );
    assert!(dom.contains("id=\"drift-table\""));
    assert!(dom.contains("id=\"exposure\""));
    assert!(dom.contains("<svg id=\"timeline-svg\""));
    assert!(dom.matches("class=\"bar\"").count() >= 5, "timeline bars");
    assert!(dom.contains("class=\"window\""));
    for id in [
        "filter-category",
        "filter-level",
        "filter-text",
        "top-rules-table",
    ] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    // The filter script ran and, with no filter set, hides nothing.
    assert!(
        dom.contains("data-ready=\"1\""),
        "filter script did not run"
    );
    assert!(
        !dom.contains(" hidden=\""),
        "rows hidden with no filter set"
    );

    // Filtering without a server: preset from the URL fragment.
    let report_json = stdout_json(&run(&[
        "scan",
        "testdata/incident",
        "--since",
        "2017-09-26",
        "--until",
        "2017-10-12",
        "--quiet",
    ]));
    let want = report_json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["category"] == "card-exposure" && (f["level"] == "high" || f["level"] == "critical")
        })
        .count();
    assert!(want > 0 && want < n);
    let filtered = headless(&tmp.path().join("profile-filter"))
        .arg("--dump-dom")
        .arg(format!("{url}#category=card-exposure&level=high"))
        .output()
        .expect("run chromium");
    let filtered = String::from_utf8(filtered.stdout).unwrap();
    let visible = filtered
        .split("<tr data-category=")
        .skip(1)
        .filter(|row| !row[..row.find('>').unwrap()].contains("hidden"))
        .count();
    assert_eq!(visible, want, "rows left by the filter");
    assert!(filtered.contains(&format!("<span id=\"shown-count\">{want}</span>")));

    // Screenshot for humans and the README (docs/report.png).
    let shot = target_dir().join("report.png");
    let s = headless(&tmp.path().join("profile-shot"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,2000")
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);
}
