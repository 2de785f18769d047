#[exitstack::scope]
fn open_all(log: &Log, names: &[&str]) -> Result<usize, String> {
    #[cleanup]
    fn close_all() {
        log.push("close all");
    }
    #[cleanup(on_failure)]
    let audit = |outcome: Outcome| log.push(outcome);
    if names.len() > 1 {
        pop_all!();
    }
    anyhow::ensure!(!names.is_empty(), "no names");
    Ok(names.len())
}
