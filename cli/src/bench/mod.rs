//! Measure: local throughput, the counted cost per million webhooks, the seeded failure storm.

pub mod cost;
pub mod cost_model;
pub mod storm;
pub mod throughput;
