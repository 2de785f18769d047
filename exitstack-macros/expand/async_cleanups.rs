#[exitstack::scope]
async fn transfer(log: &Log, amount: &str) -> Result<u32, ParseIntError> {
    defer!(async { send(log, "connection closed").await });
    let _handle = cleanup!(on_error: async { send(log, "rolled back").await });
    let amount: u32 = amount.parse()?;
    Ok(amount)
}
