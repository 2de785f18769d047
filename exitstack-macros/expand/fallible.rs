#[exitstack::scope]
fn save(file: &File, log: &Log) -> io::Result<u32> {
    defer!(on_error: log.push("rolled back"));
    defer!(try: file.sync_all());
    let written = file.write(b"data")?;
    Ok(written)
}
