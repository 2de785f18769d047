// The fallible async forms with `spawn = ..`: `cleanup!(try: async ..)` is refused
// well; a misspelt condition (`try: on_error:`) gives a parser error (nit).
use exitstack::{cleanup, defer};

async fn flush() -> std::io::Result<()> {
    Ok(())
}

#[exitstack::scope(spawn = drop)]
async fn close(more: bool) -> std::io::Result<()> {
    let handle = cleanup!(try: async move { flush().await });
    if more {
        defer!(try: on_error: async move { flush().await });
    }
    handle.cancel();
    Ok(())
}

fn main() {
    drop(close(true));
}
