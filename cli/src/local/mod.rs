//! Run hookline on this machine: `serve` (the whole pipeline), the stand-in provider APIs, a
//! local AWS emulator's queues and table, the order updates a local stack published.

pub mod emulator_setup;
pub mod inspector;
pub mod pipeline;
pub mod provider_stub;
pub mod serve;
pub mod updates;
