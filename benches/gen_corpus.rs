//! Deterministic benchmark corpus: Apache/nginx combined access logs,
//! shaped like ../shared/bench/gen_corpus.py (10 hosts x 5 months of 2017,
//! ~40 MB a file, per-host time-zone offset, monotonically increasing times,
//! rare planted skimmer and probe indicators).
//!
//! cargo run --release --example gen_corpus -- [--out DIR] [--hosts N]
//!     [--months 3,4,5,6,7] [--mb-per-file MB] [--ioc FILE]
//!
//! `--ioc FILE` also writes a 1,000-domain IOC list: the planted exfil
//! domains plus deterministic look-alike decoys, one a line (`rg -F -f`).
//!
//! Prints each file and the total bytes. Same arguments, same bytes.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

const MON: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS_IN: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const HOSTS: [&str; 10] = [
    "shop",
    "store-eu",
    "checkout",
    "static",
    "api",
    "blog",
    "m",
    "b2b",
    "outlet",
    "cdn-origin",
];
const TZS: [&str; 10] = [
    "-0700", "+0000", "+0200", "-0500", "+0100", "-0800", "+0530", "+0900", "-0300", "+1000",
];
const UAS: [&str; 12] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.113 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/59.0.3071.115 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_6) AppleWebKit/603.3.8 (KHTML, like Gecko) Version/10.1.2 Safari/603.3.8",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:55.0) Gecko/20100101 Firefox/55.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X) AppleWebKit/603.3.8 (KHTML, like Gecko) Version/10.0 Mobile/14G60 Safari/602.1",
    "Mozilla/5.0 (Linux; Android 7.0; SM-G930F Build/NRD90M) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.107 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
    "curl/7.54.0",
    "python-requests/2.18.4",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
];
const CATS: [&str; 10] = [
    "women",
    "men",
    "gear",
    "bags",
    "fitness-equipment",
    "watches",
    "sale",
    "new-arrivals",
    "tops",
    "bottoms",
];
const STATIC: [&str; 11] = [
    "/static/version{v}/frontend/Magento/luma/en_US/requirejs/require.js",
    "/static/version{v}/frontend/Magento/luma/en_US/mage/requirejs/mixins.js",
    "/static/version{v}/frontend/Magento/luma/en_US/jquery.js",
    "/static/version{v}/frontend/Magento/luma/en_US/css/styles-m.css",
    "/static/version{v}/frontend/Magento/luma/en_US/fonts/opensans/regular/opensans-400.woff2",
    "/static/version{v}/frontend/Magento/luma/en_US/images/loader-2.gif",
    "/static/version{v}/frontend/Magento/luma/en_US/Magento_Checkout/js/view/payment.js",
    "/js/varien/form.js",
    "/skin/frontend/rwd/default/js/app.js",
    "/favicon.ico",
    "/robots.txt",
];
const PROBES: [&str; 8] = [
    "/wp-login.php",
    "/xmlrpc.php",
    "/phpmyadmin/index.php",
    "/admin/",
    "/downloader/",
    "/.git/config",
    "/magmi/web/magmi.php",
    "/app/etc/local.xml",
];
/// Exfiltration domains seen in public Magecart reporting.
pub const BAD_DOMAINS: [&str; 8] = [
    "magentocore.net",
    "jquery-cdnapi.com",
    "google-analytics.is",
    "mage-cdn.link",
    "cdn-bootstrap.org",
    "baways.com",
    "jqueryextd.at",
    "g-statistic.com",
];
const REFS: [&str; 8] = [
    "-",
    "-",
    "-",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://{h}.example-shop.com/",
    "https://{h}.example-shop.com/checkout/cart/",
    "https://m.facebook.com/",
];

/// splitmix64: tiny, fast, and reproducible everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn b64(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..n).map(|_| A[self.below(64) as usize] as char).collect()
    }
}

fn indicator(rng: &mut Rng) -> (&'static str, String) {
    match rng.below(9) {
        0 => (
            "GET",
            format!(
                "/js/mage/cookies.js?v={}",
                1_000_000_000 + rng.below(9_000_000_000)
            ),
        ),
        1 => (
            "GET",
            format!(
                "/index.php?q={}",
                rng.pick(&[
                    "eval(atob('ZG9jdW1lbnQ='))",
                    "eval(function(p,a,c,k,e,d)",
                    "String.fromCharCode(104,116,116,112)",
                    "atob(window.name)",
                    "document.write(unescape('%3Cscript'))",
                ])
            ),
        ),
        2 => {
            let n = 220 + rng.below(680) as usize;
            ("POST", format!("/collect?data={}", rng.b64(n)))
        }
        3 => {
            let mut num = String::from(if rng.below(2) == 0 { "4" } else { "5" });
            if num == "5" {
                num.push(char::from(b'1' + rng.below(5) as u8));
            }
            while num.len() < 16 {
                num.push(char::from(b'0' + rng.below(10) as u8));
            }
            let sep = rng.pick(&["", " ", "-", "%20"]);
            (
                "GET",
                format!(
                    "/checkout/onepage/save?cc={}{sep}{}{sep}{}{sep}{}",
                    &num[..4],
                    &num[4..8],
                    &num[8..12],
                    &num[12..]
                ),
            )
        }
        4 => (
            "GET",
            format!(
                "/skin/frontend/base/default/js/{}.js",
                rng.pick(&["jquery.cookie", "lib", "ccvalidate", "checkout"])
            ),
        ),
        5 => (
            "GET",
            format!("/?r=https://{}/analytics.js", rng.pick(&BAD_DOMAINS)),
        ),
        6 => (
            "POST",
            format!(
                "/index.php/admin/Cms_Wysiwyg/directive/index/?___directive={}",
                rng.b64(64)
            ),
        ),
        7 => (
            "GET",
            format!(
                "/media/catalog/product/cache/1/image/x.php?cmd={}",
                rng.pick(&["base64_decode", "gzinflate", "shell_exec"])
            ),
        ),
        _ => (
            "GET",
            format!(
                "/static/version1500000000/frontend/Magento/luma/en_US/mage/{}.js?v={}",
                rng.pick(&["validation", "calendar", "cookies"]),
                1000 + rng.below(9000)
            ),
        ),
    }
}

fn gen_file(
    dir: &std::path::Path,
    hi: usize,
    month: usize,
    target: u64,
) -> std::io::Result<(PathBuf, u64)> {
    let host = HOSTS[hi % HOSTS.len()];
    let tz = TZS[hi % TZS.len()];
    let mut rng = Rng((hi as u64) * 100 + month as u64);
    let ips: Vec<String> = (0..40_000)
        .map(|_| {
            format!(
                "{}.{}.{}.{}",
                [
                    5, 23, 31, 37, 46, 62, 66, 73, 77, 81, 88, 91, 94, 104, 151, 176, 185, 193,
                    203, 212
                ][rng.below(20) as usize],
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            )
        })
        .collect();
    let secs_total = DAYS_IN[month - 1] as f64 * 86400.0;
    let step = secs_total / (target as f64 / 262.0);
    let ver = 1_490_000_000 + month as u64 * 100_000;
    let path = dir.join(format!("{host}-access.log.2017-{month:02}"));
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&path)?);
    let mut written = 0u64;
    let mut t = 0.0f64;
    let mut line = String::with_capacity(1024);
    while written < target {
        t += step * 2.0 * rng.unit();
        let s = (t as u64).min(secs_total as u64 - 1);
        let (day, rem) = (s / 86400, s % 86400);
        let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
        // Zipf-like client popularity.
        let ip = &ips[((rng.unit().powi(3)) * ips.len() as f64) as usize % ips.len()];
        let ua = rng.pick(&UAS);
        let r = rng.unit();
        let mut status = 200;
        let (meth, p): (&str, String) = if r < 0.0012 {
            indicator(&mut rng)
        } else if r < 0.45 {
            if rng.unit() < 0.25 {
                status = 304;
            }
            ("GET", rng.pick(&STATIC).replace("{v}", &ver.to_string()))
        } else if r < 0.70 {
            let mut p = format!(
                "/{}/{}-{}.html",
                rng.pick(&CATS),
                rng.pick(&["tee", "jacket", "bag", "short", "hoodie", "watch"]),
                1 + rng.below(5000)
            );
            if rng.unit() < 0.3 {
                let g = rng.b64(32);
                p.push_str(&format!(
                    "?utm_source={}&utm_medium=cpc&gclid={g}",
                    rng.pick(&["google", "facebook", "newsletter"])
                ));
            }
            ("GET", p)
        } else if r < 0.80 {
            (
                "GET",
                format!(
                    "/media/catalog/product/cache/1/small_image/240x300/{:016x}{:016x}/m/j/mj{:02}-gray_main.jpg",
                    rng.next(),
                    rng.next(),
                    rng.below(99)
                ),
            )
        } else if r < 0.88 {
            let k = rng.below(4);
            let p = match k {
                0 => format!(
                    "/checkout/cart/add/uenc/{}/product/{}/",
                    rng.b64(64),
                    rng.below(9999)
                ),
                1 => "/customer/account/loginPost/".to_string(),
                2 => format!(
                    "/customer/section/load/?sections=cart%2Cmessages&update_section_id=true&_={}",
                    1_490_000_000_000 + s * 1000
                ),
                _ => format!(
                    "/rest/default/V1/guest-carts/{:016x}/payment-information",
                    rng.next()
                ),
            };
            (if k == 0 { "POST" } else { "GET" }, p)
        } else if r < 0.93 {
            (
                "GET",
                format!(
                    "/catalogsearch/result/?q={}",
                    rng.pick(&[
                        "red+dress",
                        "hoodie",
                        "yoga+pants",
                        "watch",
                        "bag",
                        "%3Cscript%3E",
                        "1%27+OR+1%3D1"
                    ])
                ),
            )
        } else if r < 0.97 {
            status = [404, 404, 403, 301][rng.below(4) as usize];
            (
                rng.pick(&["GET", "POST", "HEAD"]),
                rng.pick(&PROBES).to_string(),
            )
        } else {
            (
                "GET",
                format!(
                    "/api/rest/products?limit={}&page={}",
                    10 + rng.below(90),
                    1 + rng.below(49)
                ),
            )
        };
        if r > 0.995 {
            status = [500, 502, 503, 499][rng.below(4) as usize];
        }
        let size = if status == 304 {
            0
        } else {
            (rng.unit() * rng.unit() * 90000.0) as u64 + 120
        };
        let cat = rng.pick(&CATS);
        let rf = rng.pick(&REFS).replace("{h}", host).replace("{c}", cat);
        line.clear();
        use std::fmt::Write as _;
        let _ = writeln!(
            line,
            "{ip} - - [{:02}/{}/2017:{hh:02}:{mm:02}:{ss:02} {tz}] \"{meth} {p} HTTP/1.1\" {status} {size} \"{rf}\" \"{ua}\"",
            day + 1,
            MON[month - 1]
        );
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    w.flush()?;
    Ok((path, written))
}

fn main() {
    let mut out = PathBuf::from("/tmp/skimhunt-corpus");
    let mut hosts = 10usize;
    let mut months = vec![3usize, 4, 5, 6, 7];
    let mut mb = 40.0f64;
    let mut ioc: Option<PathBuf> = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let val = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--out" => out = PathBuf::from(val),
            "--hosts" => hosts = val.parse().expect("--hosts N"),
            "--months" => {
                months = val
                    .split(',')
                    .map(|m| m.parse().expect("--months 3,4,5"))
                    .collect()
            }
            "--mb-per-file" => mb = val.parse().expect("--mb-per-file MB"),
            "--ioc" => ioc = Some(PathBuf::from(val)),
            other => {
                eprintln!(
                    "unknown argument {other}; see the comment at the top of benches/gen_corpus.rs"
                );
                std::process::exit(2);
            }
        }
        i += 2;
    }
    if months.iter().any(|m| !(1..=12).contains(m)) {
        eprintln!("months are 1..12");
        std::process::exit(2);
    }
    if let Some(p) = &ioc {
        write_ioc(p).expect("write IOC list");
    }
    fs::create_dir_all(&out).expect("create output directory");
    let target = (mb * 1e6) as u64;
    let mut total = 0;
    for h in 0..hosts {
        for &m in &months {
            let (p, n) = gen_file(&out, h, m, target).expect("write corpus file");
            eprintln!("{} {n}", p.display());
            total += n;
        }
    }
    println!("total bytes {total}");
}

/// 1,000 domains: the planted ones first, then decoys built from word
/// pieces and TLDs that look like skimmer infrastructure but never occur in
/// the corpus.
fn write_ioc(path: &PathBuf) -> std::io::Result<()> {
    const A: [&str; 10] = [
        "cdn", "static", "js", "api", "pay", "secure", "track", "stats", "img", "web",
    ];
    const B: [&str; 10] = [
        "jquery",
        "bootstrap",
        "magento",
        "analytic",
        "widget",
        "checkout",
        "react",
        "font",
        "tag",
        "pixel",
    ];
    const T: [&str; 10] = [
        "su", "top", "xyz", "pw", "cc", "biz", "info", "host", "link", "club",
    ];
    let mut w = BufWriter::new(File::create(path)?);
    let mut n = 0;
    for d in BAD_DOMAINS {
        writeln!(w, "{d}")?;
        n += 1;
    }
    let mut rng = Rng(0x10c_10c);
    while n < 1000 {
        let d = format!(
            "{}-{}{}.{}",
            rng.pick(&A),
            rng.pick(&B),
            rng.below(1000),
            rng.pick(&T)
        );
        writeln!(w, "{d}")?;
        n += 1;
    }
    w.flush()
}
