#[exitstack::scope]
#[track_caller]
fn check(ok: bool) -> Result<(), String> {
    if ok { Ok(()) } else { Err(format!("at {}", std::panic::Location::caller())) }
}

fn main() {
    let _ = check(true);
}
