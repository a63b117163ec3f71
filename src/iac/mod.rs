//! Infrastructure-as-code templates: find where each function's memory is set and patch it.
pub mod yaml_tree;
pub mod cloudformation;
pub mod template;
