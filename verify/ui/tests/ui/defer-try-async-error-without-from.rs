// The error of an async fallible cleanup, too, must fit the function's.
use exitstack::defer;

async fn unlock() -> Result<(), std::fmt::Error> {
    Ok(())
}

#[exitstack::scope]
async fn save() -> std::io::Result<()> {
    defer!(try: async { unlock().await });
    Ok(())
}

fn main() {
    drop(save());
}
