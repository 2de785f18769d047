// A closure is a scope of its own: the function's scope does not see its
// `Err`, so an on-error cleanup there could never run.
use exitstack::defer;

#[exitstack::scope]
fn save(items: &[u8]) -> Result<(), String> {
    items.iter().try_for_each(|item| {
        defer!(on_error: println!("rolling back {item}"));
        Err(format!("cannot save {item}"))
    })
}

fn main() {
    let _ = save(&[1]);
}
