//! Data generators shared by the benches.
pub mod c360;
