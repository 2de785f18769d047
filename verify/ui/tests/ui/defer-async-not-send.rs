// By default the implicit stack is `Send`, so that the function's future can
// be: an async cleanup that is not `Send` needs `#[exitstack::scope(?Send)]`.
use std::rc::Rc;

use exitstack::defer;

#[exitstack::scope]
async fn save() {
    let count = Rc::new(1);
    defer!(async move {
        println!("{count}");
    });
}

fn main() {
    drop(save());
}
