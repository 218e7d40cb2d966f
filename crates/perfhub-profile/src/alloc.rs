//! The tracking global allocator.
