// Spawners of the wrong type: the errors should point at the spawner and
// say what a spawner is, not at a private `AsyncScope::spawning`.
use std::sync::Mutex;

#[exitstack::scope(spawn = 42)]
async fn not_a_closure() {}

#[exitstack::scope(spawn = |cleanups: u8| drop(cleanups))]
async fn wrong_argument() {}

#[exitstack::scope(spawn = move |cleanups| sink.lock().unwrap().push(cleanups))]
async fn borrows_an_argument(sink: &Mutex<Vec<exitstack::HandOff>>) {}

fn main() {
    drop(not_a_closure());
    drop(wrong_argument());
    drop(borrows_an_argument(&Mutex::new(Vec::new())));
}
