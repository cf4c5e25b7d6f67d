//! gcc, the GitOps Cloud Compiler.
//!
//! A pure compiler from an inventory and an environment file to Kubernetes manifests.
//! See ARCHITECTURE.md for the map of modules; each pipeline stage is a module here.

pub(crate) mod canonical;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod codes;
pub mod compile;
pub mod diag;
pub mod diff;
pub mod emit;
pub mod explain;
pub mod graph;

pub mod load;
pub mod lock;
pub mod model;
pub mod ops;
pub(crate) mod origin;
pub mod plan;
pub mod publish;
pub mod rehearse;
pub mod render;
pub mod report;
pub mod schema;
pub mod source;
pub mod validate;
pub mod verify;
pub mod yaml;
