//! The `mxsec` command-line program.

fn main() {}
