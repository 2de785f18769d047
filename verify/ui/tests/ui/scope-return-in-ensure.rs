// A `return` inside `ensure!`'s arguments would leave the closure the
// attribute runs the macro in, not the function (found by review: the
// early `return Ok(())` was swallowed and the function went on).
#[exitstack::scope]
fn check(value: Option<u32>) -> anyhow::Result<()> {
    anyhow::ensure!(
        match value {
            Some(value) => value > 0,
            None => return Ok(()),
        },
        "zero"
    );
    Ok(())
}

fn main() {
    let _ = check(None);
}
