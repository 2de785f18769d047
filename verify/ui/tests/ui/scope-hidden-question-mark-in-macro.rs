// A `?` inside a macro's own definition cannot be seen by the attribute.
macro_rules! load {
    ($e:expr) => {
        $e?
    };
}

#[exitstack::scope]
fn save(input: &str) -> Result<u32, std::num::ParseIntError> {
    exitstack::defer!(on_error: println!("rolled back"));
    let n: u32 = load!(input.parse());
    Ok(n)
}

fn main() {
    let _ = save("1");
}
