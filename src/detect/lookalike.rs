//! Look-alike hosts: hosts whose registrable label imitates a protected
//! name (a built-in list of script and payment providers plus the site's
//! own domains) by Unicode confusables, digit swaps, a small edit distance,
//! or a hyphenated extension (`jquery-cdnapi.com`).
//!
//! The real hosts never alert: each protected name carries the registrable
//! domains it legitimately uses, and a host under one of them is skipped.

/// One protected name and the registrable domains that are really its own.
#[derive(Debug, Clone)]
pub struct Protected {
    /// The registrable label that look-alikes imitate (`google-analytics`).
    pub name: String,
    /// Registrable domains that are genuine (`google-analytics.com`).
    pub genuine: Vec<String>,
}

/// Built-in protected names with their genuine registrable domains.
const BUILTIN: &[(&str, &[&str])] = &[
    ("google-analytics", &["google-analytics.com"]),
    ("googletagmanager", &["googletagmanager.com"]),
    ("gstatic", &["gstatic.com", "gstatic.cn"]),
    (
        "jquery",
        &["jquery.com", "jqueryui.com", "jquerymobile.com"],
    ),
    ("jsdelivr", &["jsdelivr.net", "jsdelivr.com"]),
    (
        "cloudflare",
        &[
            "cloudflare.com",
            "cloudflare.net",
            "cloudflare-dns.com",
            "cloudflareinsights.com",
            "cloudflarestream.com",
            "cloudflareaccess.com",
        ],
    ),
    ("fontawesome", &["fontawesome.com", "fontawesome.io"]),
    ("stripe", &["stripe.com", "stripe.network", "stripecdn.com"]),
    (
        "braintree",
        &[
            "braintreegateway.com",
            "braintreepayments.com",
            "braintree-api.com",
        ],
    ),
    (
        "paypal",
        &[
            "paypal.com",
            "paypalobjects.com",
            "paypal.me",
            "paypal-cdn.com",
        ],
    ),
    ("typekit", &["typekit.net", "typekit.com"]),
];

/// Multi-label public suffixes common in web logs. A full Public Suffix
/// List would need a data crate and updates; look-alike registrations sit
/// almost always under a generic TLD or one of these, and a miss only makes
/// the compared label longer (the edit-distance test then fails safe).
const MULTI_SUFFIXES: &[&str] = &[
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "com.au", "net.au",
    "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "net.nz", "co.jp", "ne.jp", "or.jp", "co.kr",
    "or.kr", "co.in", "net.in", "org.in", "co.za", "org.za", "com.br", "net.br", "org.br",
    "com.mx", "com.ar", "com.cn", "net.cn", "org.cn", "com.hk", "com.tw", "com.sg", "com.my",
    "com.tr", "com.ua", "com.ru", "co.il", "co.id", "or.id", "com.pl", "com.es", "co.th", "com.vn",
    "com.ph", "com.pk", "com.sa", "com.eg", "com.ng", "co.ke",
];

/// The parts of a host that look-alike checks compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registrable {
    /// The label left of the public suffix, decoded from punycode.
    pub label: String,
    /// `label.suffix`, as written (ASCII or punycode).
    pub domain: String,
}

/// Splits a host into its registrable label and domain. None for IP
/// addresses, single-label hosts and malformed names.
pub fn registrable(host: &str) -> Option<Registrable> {
    let host = host.trim_end_matches('.').to_lowercase();
    if host.is_empty() || host.len() > 253 || host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.len() > 63) {
        return None;
    }
    let n = labels.len();
    let two = format!("{}.{}", labels[n - 2], labels[n - 1]);
    let suffix_len = if n >= 3 && MULTI_SUFFIXES.contains(&two.as_str()) {
        2
    } else {
        1
    };
    if n <= suffix_len {
        return None;
    }
    let raw = labels[n - suffix_len - 1];
    let label = match raw.strip_prefix("xn--") {
        Some(p) => punycode_decode(p)?,
        None => raw.to_string(),
    };
    Some(Registrable {
        label,
        domain: labels[n - suffix_len - 1..].join("."),
    })
}

/// RFC 3492 decoding of a punycode label (without its `xn--` prefix).
/// None on malformed input; bounded by the label length (≤ 63).
pub fn punycode_decode(input: &str) -> Option<String> {
    const BASE: u32 = 36;
    const TMIN: u32 = 1;
    const TMAX: u32 = 26;
    const SKEW: u32 = 38;
    const DAMP: u32 = 700;
    if input.len() > 63 || !input.is_ascii() {
        return None;
    }
    let (basic, ext) = match input.rfind('-') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => ("", input),
    };
    let mut out: Vec<char> = basic.chars().collect();
    let (mut n, mut i, mut bias) = (128u32, 0u32, 72u32);
    let adapt = |delta: u32, points: u32, first: bool| {
        let mut delta = if first { delta / DAMP } else { delta / 2 };
        delta += delta / points;
        let mut k = 0;
        while delta > ((BASE - TMIN) * TMAX) / 2 {
            delta /= BASE - TMIN;
            k += BASE;
        }
        k + (BASE - TMIN + 1) * delta / (delta + SKEW)
    };
    let mut it = ext.bytes().peekable();
    while it.peek().is_some() {
        let old_i = i;
        let mut w = 1u32;
        let mut k = BASE;
        loop {
            let c = it.next()?;
            let digit = match c {
                b'a'..=b'z' => u32::from(c - b'a'),
                b'0'..=b'9' => u32::from(c - b'0') + 26,
                _ => return None,
            };
            i = i.checked_add(digit.checked_mul(w)?)?;
            let t = if k <= bias {
                TMIN
            } else if k >= bias + TMAX {
                TMAX
            } else {
                k - bias
            };
            if digit < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k += BASE;
        }
        let len = out.len() as u32 + 1;
        bias = adapt(i - old_i, len, old_i == 0);
        n = n.checked_add(i / len)?;
        i %= len;
        out.insert(i as usize, char::from_u32(n)?);
        i += 1;
    }
    Some(out.into_iter().collect())
}

/// Maps a label to its confusables skeleton: Cyrillic and Greek letters
/// that render like Latin ones, digit swaps (0→o, 1→l, 3→e, 5→s), `i`→`l`
/// (an upper-case `I` is lowered to `i` first) and the pairs `rn`→`m`,
/// `vv`→`w`.
pub fn skeleton(label: &str) -> String {
    let mapped: String = label
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'а' | 'α' => 'a',
            'Ь' | 'ь' | 'β' => 'b',
            'с' | 'ϲ' => 'c',
            'ԁ' => 'd',
            'е' | 'ε' | '3' => 'e',
            'һ' => 'h',
            'і' | 'ι' | 'ӏ' | 'i' | '1' | '|' => 'l',
            'ј' => 'j',
            'κ' | 'к' => 'k',
            'м' => 'm',
            'п' | 'η' => 'n',
            'о' | 'ο' | '0' => 'o',
            'р' | 'ρ' => 'p',
            'ԛ' => 'q',
            'г' => 'r',
            'ѕ' | '5' => 's',
            'т' | 'τ' => 't',
            'υ' | 'ц' => 'u',
            'ν' | 'ѵ' => 'v',
            'ԝ' | 'ω' => 'w',
            'х' | 'χ' => 'x',
            'у' | 'γ' => 'y',
            'z' | 'ζ' => 'z',
            other => other,
        })
        .collect();
    mapped.replace("rn", "m").replace("vv", "w")
}

/// Optimal-string-alignment (restricted Damerau–Levenshtein) distance,
/// giving up past `limit` (returns `limit + 1`).
pub fn damerau(a: &str, b: &str, limit: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, row) in d.chunks_mut(w).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let mut best = usize::MAX;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
            best = best.min(v);
        }
        if best > limit {
            return limit + 1;
        }
    }
    d[a.len() * w + b.len()].min(limit + 1)
}

/// Why a host was judged a look-alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The same label under a registrable domain the name does not own.
    ForeignSuffix,
    /// Same skeleton, different characters (homoglyphs, digit swaps).
    Confusable,
    /// A small edit distance (typo-squatting).
    EditDistance,
    /// The name (or a near miss) as a hyphen-separated part of a longer label.
    Extension,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::ForeignSuffix => "foreign-suffix",
            Method::Confusable => "confusable",
            Method::EditDistance => "edit-distance",
            Method::Extension => "extension",
        }
    }
}

/// A look-alike verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The protected name imitated.
    pub imitates: String,
    pub method: Method,
}

/// The protected names in use, with their skeletons precomputed.
#[derive(Debug, Clone)]
pub struct Lookalikes {
    names: Vec<(Protected, String)>,
}

/// Edit distance allowed for a protected name: 2 from 8 characters, 1 for
/// 7, else none beyond [`near_short`] (short names have honest neighbours
/// one substitution away: `stripe` vs `stride`, `paypal` vs `paypay`).
fn allowed_distance(len: usize) -> usize {
    match len {
        0..=6 => 0,
        7 => 1,
        _ => 2,
    }
}

/// For short names: one inserted, deleted or transposed character
/// (`jqeury`, `strpe`), but not a substitution.
fn near_short(label: &str, name: &str) -> bool {
    if damerau(label, name, 1) != 1 {
        return false;
    }
    if label.chars().count() != name.chars().count() {
        return true;
    }
    let mut a: Vec<char> = label.chars().collect();
    let mut b: Vec<char> = name.chars().collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

impl Lookalikes {
    /// The built-in names plus `own` domains (`shop.example.co.uk` protects
    /// the label `example`, genuine under `example.co.uk`).
    pub fn new(own: &[String]) -> Result<Lookalikes, String> {
        let mut names: Vec<Protected> = BUILTIN
            .iter()
            .map(|(n, g)| Protected {
                name: (*n).to_string(),
                genuine: g.iter().map(|s| (*s).to_string()).collect(),
            })
            .collect();
        for d in own {
            let r = registrable(d.trim())
                .ok_or_else(|| format!("--own-domain {d:?} is not a domain name"))?;
            match names.iter_mut().find(|p| p.name == r.label) {
                Some(p) => p.genuine.push(r.domain),
                None => names.push(Protected {
                    name: r.label,
                    genuine: vec![r.domain],
                }),
            }
        }
        Ok(Lookalikes {
            names: names
                .into_iter()
                .map(|p| {
                    let s = skeleton(&p.name);
                    (p, s)
                })
                .collect(),
        })
    }

    /// Whether `host` imitates a protected name, and which.
    pub fn check(&self, host: &str) -> Option<Verdict> {
        let r = registrable(host)?;
        // A host under any genuine domain is never a look-alike of anything
        // (cdnjs.cloudflare.com is not a jsdelivr imitation).
        if self
            .names
            .iter()
            .any(|(p, _)| p.genuine.contains(&r.domain))
        {
            return None;
        }
        let label = r.label.as_str();
        let skel = skeleton(label);
        for (p, pskel) in &self.names {
            let verdict = |method| {
                Some(Verdict {
                    imitates: p.name.clone(),
                    method,
                })
            };
            if label == p.name {
                return verdict(Method::ForeignSuffix);
            }
            if skel == *pskel {
                return verdict(Method::Confusable);
            }
            let k = allowed_distance(p.name.chars().count());
            let near = if k > 0 {
                damerau(&skel, pskel, k) <= k
            } else {
                pskel.chars().count() >= 5 && near_short(&skel, pskel)
            };
            if near {
                return verdict(Method::EditDistance);
            }
            if extends(&skel, pskel, k) {
                return verdict(Method::Extension);
            }
        }
        None
    }
}

/// True when a hyphen-separated run of `label`'s parts equals `name` (or is
/// within `k` edits of it) and the label has more than that run.
fn extends(label: &str, name: &str, k: usize) -> bool {
    if !label.contains('-') {
        return false;
    }
    let parts: Vec<&str> = label.split('-').filter(|p| !p.is_empty()).collect();
    let name_parts = name.split('-').count();
    if parts.len() <= name_parts {
        return false;
    }
    for start in 0..=parts.len() - name_parts {
        let run = parts[start..start + name_parts].join("-");
        if run.chars().count() < 4 {
            continue;
        }
        if run == name || (k > 0 && damerau(&run, name, k) <= k) {
            return true;
        }
    }
    false
}

/// A per-state memo of verdicts: log lines repeat the same few hosts.
#[derive(Debug, Default)]
pub struct Cache {
    map: super::FastMap<String, Option<Verdict>>,
    /// Verdicts by the raw bytes of a host as written in a line, for the
    /// per-line test (no allocation on a hit).
    raw: super::FastMap<Vec<u8>, bool>,
}

/// Hosts remembered per cache before it is cleared (bounds memory on logs
/// with millions of distinct hosts).
const CACHE_MAX: usize = 1 << 16;

impl Cache {
    /// Whether a host, as its raw bytes in a line, is a look-alike.
    pub fn is_lookalike(&mut self, l: &Lookalikes, raw: &[u8]) -> bool {
        if let Some(&v) = self.raw.get(raw) {
            return v;
        }
        let v = self
            .check(l, &String::from_utf8_lossy(raw).to_lowercase())
            .is_some();
        if self.raw.len() >= CACHE_MAX {
            self.raw.clear();
        }
        self.raw.insert(raw.to_vec(), v);
        v
    }

    pub fn check(&mut self, l: &Lookalikes, host: &str) -> Option<Verdict> {
        if let Some(v) = self.map.get(host) {
            return v.clone();
        }
        let v = l.check(host);
        if self.map.len() >= CACHE_MAX {
            self.map.clear();
        }
        self.map.insert(host.to_string(), v.clone());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l() -> Lookalikes {
        Lookalikes::new(&["skyways-air.example".to_string()]).unwrap()
    }

    #[test]
    fn real_hosts_never_alert() {
        let l = l();
        for h in [
            "www.google-analytics.com",
            "ssl.google-analytics.com",
            "google-analytics.com",
            "www.googletagmanager.com",
            "fonts.gstatic.com",
            "code.jquery.com",
            "ajax.jqueryui.com",
            "cdn.jsdelivr.net",
            "cdnjs.cloudflare.com",
            "static.cloudflareinsights.com",
            "use.fontawesome.com",
            "js.stripe.com",
            "m.stripe.network",
            "js.braintreegateway.com",
            "www.paypal.com",
            "www.paypalobjects.com",
            "use.typekit.net",
            "www.skyways-air.example",
            "www.google.com",
            "www.bing.com",
            "d3skyways1a2b3c.cloudfront.net",
            "127.0.0.1",
            "localhost",
            "stride.com",
            "strike.com",
            "paypay.ne.jp",
            "jquerycdn",
        ] {
            assert_eq!(l.check(h), None, "{h}");
        }
    }

    #[test]
    fn imitations_alert_and_name_the_target() {
        let l = l();
        let cases = [
            (
                "www.google-anaiytics.com",
                "google-analytics",
                Method::Confusable,
            ),
            (
                "g00gletagmanager.com",
                "googletagmanager",
                Method::Confusable,
            ),
            ("jquery-cdnapi.com", "jquery", Method::Extension),
            ("cdn-jquery.net", "jquery", Method::Extension),
            (
                "google-analytics.is",
                "google-analytics",
                Method::ForeignSuffix,
            ),
            (
                "googleanalytics.com",
                "google-analytics",
                Method::EditDistance,
            ),
            (
                "google-analyitics.org",
                "google-analytics",
                Method::EditDistance,
            ),
            ("jqeury.com", "jquery", Method::EditDistance),
            ("paypa1.com", "paypal", Method::Confusable),
            ("js.stripe-cdn.co.uk", "stripe", Method::Extension),
            ("cloudfiare.com.au", "cloudflare", Method::Confusable),
            ("skyvvays-air.example", "skyways-air", Method::Confusable),
            ("skyways-air.com", "skyways-air", Method::ForeignSuffix),
            ("braintree-payments.net", "braintree", Method::Extension),
            ("strpe.com", "stripe", Method::EditDistance),
        ];
        for (h, target, method) in cases {
            let v = l.check(h).unwrap_or_else(|| panic!("{h} not flagged"));
            assert_eq!(v.imitates, target, "{h}");
            assert_eq!(v.method, method, "{h}");
        }
    }

    #[test]
    fn cyrillic_homoglyph_and_punycode() {
        let l = l();
        // "pаypal" with a Cyrillic а, as the browser writes it.
        assert_eq!(punycode_decode("pypal-4ve").as_deref(), Some("pаypal"));
        let v = l.check("www.xn--pypal-4ve.com").unwrap();
        assert_eq!(
            (v.imitates.as_str(), v.method),
            ("paypal", Method::Confusable)
        );
        let v = l.check("www.pаypal.com").unwrap();
        assert_eq!(v.method, Method::Confusable);
        // Malformed punycode is not a panic.
        assert_eq!(punycode_decode("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"), None);
        assert_eq!(punycode_decode("-"), Some(String::new()));
        assert_eq!(l.check("xn--99999999999.com"), None);
    }

    #[test]
    fn registrable_handles_multi_part_suffixes() {
        let r = registrable("a.b.example.co.uk").unwrap();
        assert_eq!(
            (r.label.as_str(), r.domain.as_str()),
            ("example", "example.co.uk")
        );
        let r = registrable("WWW.Example.COM.").unwrap();
        assert_eq!(
            (r.label.as_str(), r.domain.as_str()),
            ("example", "example.com")
        );
        assert_eq!(registrable("co.uk").map(|r| r.label), Some("co".into()));
        assert_eq!(registrable("com"), None);
        assert_eq!(registrable("a..b"), None);
        assert_eq!(registrable("::1"), None);
    }

    #[test]
    fn damerau_counts_transpositions_once() {
        assert_eq!(damerau("jquery", "jqeury", 2), 1);
        assert_eq!(damerau("abc", "abc", 2), 0);
        assert_eq!(damerau("abc", "xyzuvw", 2), 3);
        assert_eq!(damerau("", "ab", 2), 2);
    }

    #[test]
    fn own_domain_must_be_a_domain() {
        assert!(Lookalikes::new(&["not a domain".into()]).is_err());
    }
}
