use exitstack::cleanup;

fn main() {
    let names = vec!["db", "cache"];
    #[cleanup]
    fn report() {
        println!("released {names:?}");
    }
    drop(names);
}
