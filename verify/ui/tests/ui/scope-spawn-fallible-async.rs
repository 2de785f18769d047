// A cancelled fn returns nothing: a fallible async cleanup's error would
// have nowhere to go once the spawner runs it.
use exitstack::defer;

async fn flush() -> std::io::Result<()> {
    Ok(())
}

#[exitstack::scope(spawn = drop)]
async fn close() -> std::io::Result<()> {
    defer!(try: async move { flush().await });
    Ok(())
}

fn main() {
    drop(close());
}
