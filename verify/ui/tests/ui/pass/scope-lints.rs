// No lint leaks from the expansion under `#![deny(warnings)]`: a body that
// ends in `bail!` or `process::exit`, a one-expression body.
#![deny(warnings)]

#[exitstack::scope]
fn ends_in_bail() -> anyhow::Result<()> {
    exitstack::defer!(on_error: println!("rolled back"));
    anyhow::bail!("always")
}

#[exitstack::scope]
fn ends_in_exit() -> Result<(), String> {
    exitstack::defer!(on_error: println!("rolled back"));
    std::process::exit(0)
}

#[exitstack::scope]
fn ends_in_exit_statement() {
    exitstack::defer!(println!("bye"));
    std::process::exit(0);
}

#[exitstack::scope]
fn one_expression() -> u32 {
    7
}

#[exitstack::scope]
fn match_with_exit(n: u8) -> Result<u8, String> {
    exitstack::defer!(on_error: println!("rolled back"));
    match n {
        0 => std::process::exit(0),
        n => Ok(n),
    }
}

fn main() {
    assert!(ends_in_bail().is_err());
    assert_eq!(one_expression(), 7);
    assert_eq!(match_with_exit(1), Ok(1));
    if one_expression() == 0 {
        let _ = ends_in_exit();
        ends_in_exit_statement();
    }
}
