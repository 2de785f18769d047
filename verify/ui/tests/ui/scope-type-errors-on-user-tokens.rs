// Type errors in returned values are reported at the user's expressions,
// with rustc's own messages.
#[derive(Debug)]
struct Mine;

#[exitstack::scope]
fn wrong_ok() -> Result<u32, Mine> {
    Ok("str")
}

#[exitstack::scope]
fn wrong_return() -> Result<u32, Mine> {
    return 5;
}

#[exitstack::scope]
fn wrong_err() -> Result<u32, Mine> {
    Err("not mine")
}

#[exitstack::scope]
fn no_from(input: &str) -> Result<u32, Mine> {
    let n: u32 = input.parse()?;
    Ok(n)
}

#[exitstack::scope]
fn unresolved() -> Result<u32, Mine> {
    Ok(undefined_name)
}

fn main() {}
