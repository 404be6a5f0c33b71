//! One [`OrderApi`] for the processor and the poller: each order goes to its provider's API, as
//! the registry declares it ([`OrderApiSpec`](super::OrderApiSpec)).

use tokio::time::Instant;

use super::Provider;
use crate::config::ProviderEnvironment;
use crate::config::{ConfigError, TokenSource, token_source};
use crate::order::OrderRef;
use crate::order_api::{ApiToken, FetchError, HttpOrderClient, OrderApi, PathsFn, RetryPolicy};
use crate::secrets_manager::SecretsError;

/// One provider API as configured: its base URL and where its token comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiConfig {
    pub provider: Provider,
    pub base_url: String,
    pub token: TokenSource,
}

/// The order APIs the environment configures, by the registry's variables. A required API
/// (Octopus) missing is an error; an optional one (Optty) is left out when its base URL is not
/// set, and needs its token when it is.
pub fn configured(lookup: impl Fn(&str) -> Option<String>) -> Result<Vec<ApiConfig>, ConfigError> {
    let environment = ProviderEnvironment::from_lookup(&lookup)?;
    let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let mut apis = Vec::new();
    for provider in Provider::ALL {
        let Some(spec) = &provider.spec().order_api else {
            continue;
        };
        // An optional API is on once its base URL or its token is given; its base URL is the
        // documented host of the environment unless given.
        let wanted = spec.required
            || set(spec.token_secret_id_var).is_some()
            || set(spec.token_var).is_some();
        let documented = spec.documented_hosts.map(|hosts| hosts.of(environment));
        let base_url = match (set(spec.base_url_var), documented) {
            (Some(base), _) => base,
            (None, Some(host)) if wanted => host.to_string(),
            (None, _) if spec.required => return Err(ConfigError::Missing(spec.base_url_var)),
            (None, _) => continue,
        };
        apis.push(ApiConfig {
            provider,
            base_url,
            token: token_source(&lookup, spec.token_secret_id_var, spec.token_var)?,
        });
    }
    Ok(apis)
}

/// The order APIs hookline fetches from. A provider whose API is not configured fails its
/// fetches (and its events reach the dead-letter queue), rather than being skipped silently.
#[derive(Clone, Debug, Default)]
pub struct ProviderApis {
    clients: Vec<(Provider, HttpOrderClient<PathsFn>)>,
}

impl ProviderApis {
    /// Adds `provider`'s API at `base`.
    pub fn with(
        mut self,
        provider: Provider,
        base: &str,
        token: ApiToken,
        policy: RetryPolicy,
    ) -> Result<Self, String> {
        let spec = provider
            .spec()
            .order_api
            .as_ref()
            .ok_or_else(|| format!("{} has no order API", provider.spec().name))?;
        let client = HttpOrderClient::with_paths(base, token, policy, spec.paths)?;
        self.clients.push((provider, client));
        Ok(self)
    }

    /// The client of `provider`'s API, when it is configured.
    pub fn client(&self, provider: Provider) -> Option<&HttpOrderClient<PathsFn>> {
        self.clients
            .iter()
            .find(|(p, _)| *p == provider)
            .map(|(_, client)| client)
    }

    /// The clients of `apis`, their tokens read now (from Secrets Manager in AWS).
    pub async fn load(apis: &[ApiConfig], policy: RetryPolicy) -> Result<Self, LoadError> {
        let mut loaded = Self::default();
        for api in apis {
            let token = ApiToken::load(&api.token).await?;
            loaded = loaded
                .with(api.provider, &api.base_url, token, policy.clone())
                .map_err(LoadError::Client)?;
        }
        Ok(loaded)
    }
}

/// Why the order APIs could not be set up at init.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Token(#[from] SecretsError),
    #[error("{0}")]
    Client(String),
}

impl OrderApi for ProviderApis {
    async fn fetch(
        &self,
        order: &OrderRef,
        deadline: Instant,
    ) -> Result<serde_json::Value, FetchError> {
        let provider = Provider::of_event(&order.provider);
        match self.clients.iter().find(|(p, _)| Some(*p) == provider) {
            Some((_, client)) => client.fetch(order, deadline).await,
            None => Err(FetchError::NotConfigured(order.provider.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PROVIDER_ENVIRONMENT, lookup};
    use crate::providers::{octopus, optty};

    #[test]
    fn the_environment_picks_the_documented_hosts_unless_a_base_url_is_given() {
        let token = [(octopus::API_TOKEN, "tok"), (optty::API_KEY, "k")];
        let base_of = |pairs: &[(&str, &str)], provider| {
            configured(lookup(pairs))
                .unwrap()
                .into_iter()
                .find(|api| api.provider == provider)
                .map(|api| api.base_url)
        };
        let mut production = token.to_vec();
        production.push((PROVIDER_ENVIRONMENT, "production"));
        assert_eq!(
            base_of(&production, Provider::Octopus).as_deref(),
            Some("https://api.octopuscards.io")
        );
        assert_eq!(
            base_of(&production, Provider::Optty).as_deref(),
            Some("https://api.optty.com")
        );
        assert_eq!(
            base_of(&token, Provider::Octopus).as_deref(),
            Some("https://sandbox-api.octopuscards.io"),
            "sandbox unless production is said"
        );
        assert_eq!(
            base_of(&token, Provider::Optty).as_deref(),
            Some("https://api.qa.optty.com")
        );
        let mut given = production.clone();
        given.push((octopus::API_BASE_URL, "http://127.0.0.1:3001"));
        assert_eq!(
            base_of(&given, Provider::Octopus).as_deref(),
            Some("http://127.0.0.1:3001")
        );
        assert_eq!(
            base_of(&token[..1], Provider::Optty),
            None,
            "the Optty API stays off without its key"
        );
    }

    #[test]
    fn optty_api_needs_its_key() {
        let base = [
            (octopus::API_BASE_URL, "http://api"),
            (octopus::API_TOKEN, "tok"),
            (optty::API_BASE_URL, "http://optty"),
        ];
        assert_eq!(
            configured(lookup(&base)).unwrap_err(),
            ConfigError::Missing(optty::API_KEY_SECRET_ID)
        );
        let mut with_key = base.to_vec();
        with_key.push((optty::API_KEY, "k"));
        let apis = configured(lookup(&with_key)).unwrap();
        assert!(apis.iter().any(|api| api.provider == Provider::Optty));
        let without = configured(lookup(&base[..2])).unwrap();
        assert!(without.iter().all(|api| api.provider != Provider::Optty));
    }

    #[test]
    fn a_token_secret_id_is_preferred_to_a_token_in_the_environment() {
        let base = [
            (octopus::API_BASE_URL, "http://api"),
            (octopus::API_TOKEN, "tok"),
            (octopus::API_TOKEN_SECRET_ID, "hookline/octopus-api"),
        ];
        let apis = configured(lookup(&base)).unwrap();
        assert_eq!(
            apis[0].token,
            TokenSource::SecretId("hookline/octopus-api".into())
        );
        assert_eq!(
            configured(lookup(&base[..1])).unwrap_err(),
            ConfigError::Missing(octopus::API_TOKEN_SECRET_ID)
        );
        assert_eq!(
            configured(lookup(&[])).unwrap_err(),
            ConfigError::Missing(octopus::API_TOKEN_SECRET_ID),
            "the Octopus API is required (its host is documented, its token is not)"
        );
    }
}
