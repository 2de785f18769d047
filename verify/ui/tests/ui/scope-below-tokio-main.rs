// `#[tokio::main]` above `#[exitstack::scope]` expands first: the order is
// reported.
#[tokio::main(flavor = "current_thread")]
#[exitstack::scope]
async fn main() {
    exitstack::defer!(on_success: println!("done"));
}
