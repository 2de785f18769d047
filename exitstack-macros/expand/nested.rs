#[exitstack::scope]
fn nested(log: &Log, choice: u8) -> Result<u8, Failed> {
    defer!(on_success: log.push("committed"));
    let values = items.iter().map(|item| {
        defer!(log.push("item done"));
        item.check()
    });
    'outer: loop {
        let inner = 'outer: {
            break 'outer Err(Failed);
        };
        match choice {
            0 => {
                defer!(on_error: log.push("inner rolled back"));
                break 'outer Err(Failed);
            }
            n => break Ok(format!("{}", values.count()?) + n),
        }
    }
}
