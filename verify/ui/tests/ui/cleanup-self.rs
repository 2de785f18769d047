use exitstack::cleanup;

struct File;

impl File {
    #[cleanup]
    fn close(&self) {}
}

fn main() {}
