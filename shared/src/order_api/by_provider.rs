//! One [`OrderApi`] for the processor: each order goes to its provider's API.

use tokio::time::Instant;

use super::{FetchError, OctopusOrderClient, OpttyOrderClient, OrderApi};
use crate::order::OrderRef;

/// The order APIs hookline fetches from. A provider whose API is not configured fails its
/// fetches (and its events reach the dead-letter queue), rather than being skipped silently.
#[derive(Clone, Debug, Default)]
pub struct ProviderApis {
    pub octopus: Option<OctopusOrderClient>,
    pub optty: Option<OpttyOrderClient>,
}

impl OrderApi for ProviderApis {
    async fn fetch(
        &self,
        order: &OrderRef,
        deadline: Instant,
    ) -> Result<serde_json::Value, FetchError> {
        match order.provider.as_str() {
            crate::providers::octopus::PROVIDER => match &self.octopus {
                Some(api) => api.fetch(order, deadline).await,
                None => Err(FetchError::NotConfigured(order.provider.clone())),
            },
            crate::providers::optty::PROVIDER => match &self.optty {
                Some(api) => api.fetch(order, deadline).await,
                None => Err(FetchError::NotConfigured(order.provider.clone())),
            },
            other => Err(FetchError::NotConfigured(other.to_string())),
        }
    }
}
