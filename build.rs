//! Embeds the built-in rule pack (rules/*.yml) into the binary, so a
//! single executable carries its rules and their hash is reproducible.

use std::env;
use std::fs;
use std::path::Path;

fn main() {
    let dir = Path::new("rules");
    println!("cargo:rerun-if-changed=rules");
    let mut files: Vec<String> = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
            if ext == "yml" || ext == "yaml" {
                println!("cargo:rerun-if-changed={}", p.display());
                files.push(p.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    let root = env::var("CARGO_MANIFEST_DIR").unwrap();
    let mut out =
        String::from("/// (file name, YAML text) of every built-in rule file, sorted by name.\n");
    out.push_str("pub static BUILTIN_RULES: &[(&str, &str)] = &[\n");
    for f in &files {
        let full = Path::new(&root).join("rules").join(f);
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            format!("rules/{f}"),
            full.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("builtin_rules.rs");
    fs::write(dest, out).unwrap();
}
