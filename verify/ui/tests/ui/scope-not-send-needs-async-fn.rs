#[exitstack::scope(?Send)]
fn save() {}

#[exitstack::scope(?Sync)]
async fn load() {}

fn main() {
    save();
    drop(load());
}
