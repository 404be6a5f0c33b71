//! Operate a deployed stack (or `serve`'s local one): smoke test, inspect, redrive, replay,
//! search the archive, have an order watched.

pub mod archive;
pub mod archive_replay;
pub mod aws_target;
pub mod inspect;
pub mod published_secrets;
pub mod redrive;
pub mod replay;
pub mod smoke;
pub mod stack;
pub mod watch;
