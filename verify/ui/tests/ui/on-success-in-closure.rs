// Inside a closure of the body (a scope of its own), `on_success` would also
// run when the function returns an `Err`: refused, as `on_error` is there.
use exitstack::defer;

#[exitstack::scope]
fn save(items: &[u32]) -> Result<(), String> {
    let check = |item: &u32| {
        defer!(on_success: println!("checked {item}"));
        if *item == 0 { Err("zero".to_owned()) } else { Ok(()) }
    };
    items.iter().try_for_each(check)
}

fn main() {
    let _ = save(&[1, 0]);
}
