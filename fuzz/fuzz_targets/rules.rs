//! The rule loader (YAML, modifiers, conditions, regexes): any text is either
//! rules or a positioned error, never a panic; loaded rules evaluate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skimhunt::format::{LineParser, LogFormat, ParseOptions};
use skimhunt::rules;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match rules::load_str(src, "fuzz.yml") {
        Ok(loaded) => {
            let p = LineParser::new(LogFormat::Plain, ParseOptions::default());
            let rec = p.record(b"2017-09-26T10:00:00Z GET /x.js?a=%3Cscript%3E 4111111111111111");
            for r in &loaded {
                std::hint::black_box(r.eval(&rec));
                std::hint::black_box(r.literals());
            }
            std::hint::black_box(rules::lint(&loaded));
        }
        Err(e) => {
            std::hint::black_box(e.to_string());
        }
    }
});
