//! Nothing: the tests are the point (see Cargo.toml).
