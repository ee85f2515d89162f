//! Filters: the AST, its parser, its checker and its evaluator.

pub mod ast;
pub mod eval;
pub mod parser;

pub use ast::{CompValue, CompareOp, Filter};
pub use eval::{check, matches};
pub use parser::parse;
