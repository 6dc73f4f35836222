//! The C ABI (see include/cctoken.h). Filled in by the bindings work.
