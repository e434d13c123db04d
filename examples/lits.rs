fn main() {
    let l = skimhunt::pack::load(&[], false).unwrap();
    for r in &l.rules {
        println!(
            "{} {:?} {:?}",
            r.title,
            r.literals().map(|v| v
                .iter()
                .map(|x| String::from_utf8_lossy(x).into_owned())
                .collect::<Vec<_>>()),
            r.decode
        );
    }
}
