// A function that never returns has no outcome to observe: refused with a
// message, instead of an error about the experimental `!` type.
#[exitstack::scope]
fn serve() -> ! {
    exitstack::defer!(println!("stopped"));
    std::process::exit(0)
}

fn main() {
    serve();
}
