// An async fallible cleanup must be `Send` too (or write
// `#[exitstack::scope(?Send)]`).
use std::rc::Rc;

use exitstack::defer;

#[exitstack::scope]
async fn save() -> std::io::Result<()> {
    let count = Rc::new(1);
    defer!(try: async move {
        println!("{count}");
        Ok::<(), std::io::Error>(())
    });
    Ok(())
}

fn main() {
    drop(save());
}
