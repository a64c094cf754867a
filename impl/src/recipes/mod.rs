//! Recipes: programs that ZooKeeper clients run on top of the znode API (notes, part II).
//!
//! - [`counter`]: the mini-transaction counter (read value and version, increment,
//!   conditional set, retry with exponential backoff).

pub mod counter;

#[cfg(test)]
mod tests;
