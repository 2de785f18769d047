#[exitstack::scope]
fn transfer(log: &Log, amount: &str) -> Result<u32, ParseIntError> {
    defer!(on_error: log.push("rolled back"));
    defer!(log.push("unlocked"));
    let amount: u32 = amount.parse()?;
    if amount == 0 {
        return Err(zero());
    }
    Ok(amount)
}
