//! Reading reports for the leak test shared by the targets.

#[path = "pan.rs"]
mod pan;

/// Every string, key and number of a JSON value, fingerprints (hex
/// digests, not data) left out.
pub fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Number(n) => out.push(n.to_string()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                if !k.to_ascii_lowercase().contains("fingerprint") {
                    out.push(k.clone());
                    strings(x, out);
                }
            }
        }
        _ => {}
    }
}

/// The text with runs of 32 or more hex digits (fingerprints, digests)
/// replaced.
pub fn without_digests(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut run = String::new();
    for c in t.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        if run.len() >= 32 {
            out.push('#');
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// Panics when the report `text`, in `format`, shows a card number.
/// JSON reports are read as values: the JSON text spells a control byte
/// before digits as `\u0002`, whose digits are not the data's.
pub fn assert_no_pan(format: &str, text: &str) {
    let texts = match format {
        "json" | "sarif" => {
            let mut t = Vec::new();
            strings(&serde_json::from_str(text).expect("valid JSON"), &mut t);
            t
        }
        "jsonl" => {
            let mut t = Vec::new();
            for l in text.lines() {
                strings(&serde_json::from_str(l).expect("valid JSON line"), &mut t);
            }
            t
        }
        _ => vec![without_digests(text)],
    };
    for t in texts {
        if let Some(p) = pan::full_pan(t.as_bytes()) {
            let at = t.find(&p).unwrap_or(0);
            let around = &t[t.floor_char_boundary(at.saturating_sub(300))..];
            panic!(
                "the {format} report shows a card number: {p} in {}",
                &around[..around.floor_char_boundary(400)]
            );
        }
    }
}
