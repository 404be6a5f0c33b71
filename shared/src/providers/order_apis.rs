//! One [`OrderApi`] for the processor and the poller: each order goes to its provider's API, as
//! the registry declares it ([`OrderApiSpec`](super::OrderApiSpec)).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{OrderApiSpec, Provider};
use crate::api_auth::{
    AuthEndpoint, AwsSessionStore, CredentialSource, Credentials, ProviderToken, SessionStore,
};
use crate::api_budget::{BudgetConfig, DynamoBudget, MemoryBudget, Priority, RequestBudget};
use crate::config::{ConfigError, ProviderEnvironment, TOKEN_REFRESH_MARGIN_SECS};
use crate::order::OrderRef;
use crate::order_api::{FetchError, HttpOrderClient, OrderApi, PathsFn, RetryPolicy};
use crate::secrets_manager::SecretsError;

/// Where an API's credentials come from: a Secrets Manager secret (in AWS: never in the
/// function's configuration) or the values themselves (local runs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialsConfig {
    Value(Credentials),
    SecretId(String),
}

/// One provider API as configured: its base URL, its token endpoint and its credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiConfig {
    pub provider: Provider,
    pub base_url: String,
    /// The API base (Octopus logs in under it) or the token URL of a client-credentials API.
    pub auth_url: String,
    pub credentials: CredentialsConfig,
    /// The Secrets Manager secret the containers share the session in; `None`: this process
    /// keeps its own.
    pub session_secret_id: Option<String>,
    /// `API_TOKEN_REFRESH_MARGIN_SECS`; `None`: the smaller of 5 minutes and a tenth of the
    /// token's lifetime.
    pub margin: Option<Duration>,
    /// GET requests a minute the provider allows in this environment, shared by every caller.
    pub get_limit: Option<u32>,
}

fn credentials_config(
    spec: &OrderApiSpec,
    set: &impl Fn(&str) -> Option<String>,
) -> Result<CredentialsConfig, ConfigError> {
    let auth = &spec.auth;
    if set(auth.retired_token_var).is_some() {
        return Err(ConfigError::Invalid {
            var: auth.retired_token_var,
            reason: format!(
                "a static API token expires; give the credentials instead ({} in AWS, or {} and {})",
                auth.credentials_secret_id_var, auth.credential_vars[0], auth.credential_vars[1]
            ),
        });
    }
    if let Some(id) = set(auth.credentials_secret_id_var) {
        return Ok(CredentialsConfig::SecretId(id.trim().to_string()));
    }
    let [id_var, secret_var] = auth.credential_vars;
    match (set(id_var), set(secret_var)) {
        (Some(id), Some(secret)) => Credentials::new(&id, &secret)
            .map(CredentialsConfig::Value)
            .map_err(|reason| ConfigError::Invalid {
                var: id_var,
                reason,
            }),
        (Some(_), None) => Err(ConfigError::Missing(secret_var)),
        (None, Some(_)) => Err(ConfigError::Missing(id_var)),
        (None, None) => Err(ConfigError::Missing(auth.credentials_secret_id_var)),
    }
}

/// The order APIs the environment configures, by the registry's variables. A required API
/// (Octopus) missing is an error; an optional one (Optty) is left out when neither its base URL
/// nor its credentials are set, and needs its credentials when it is on.
pub fn configured(lookup: impl Fn(&str) -> Option<String>) -> Result<Vec<ApiConfig>, ConfigError> {
    let environment = ProviderEnvironment::from_lookup(&lookup)?;
    let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let margin = crate::config::optional_number(&lookup, TOKEN_REFRESH_MARGIN_SECS)?
        .map(Duration::from_secs);
    let mut apis = Vec::new();
    for provider in Provider::ALL {
        let Some(spec) = &provider.spec().order_api else {
            continue;
        };
        let auth = &spec.auth;
        // An optional API is on once its base URL or its credentials are given; its base URL
        // is the documented host of the environment unless given.
        let wanted = spec.required
            || set(spec.base_url_var).is_some()
            || set(auth.credentials_secret_id_var).is_some()
            || auth.credential_vars.iter().any(|var| set(var).is_some())
            || set(auth.retired_token_var).is_some();
        if !wanted {
            continue;
        }
        let documented = spec.documented_hosts.map(|hosts| hosts.of(environment));
        let base_url = match (set(spec.base_url_var), documented) {
            (Some(base), _) => base,
            (None, Some(host)) => host.to_string(),
            (None, None) => return Err(ConfigError::Missing(spec.base_url_var)),
        };
        let auth_url = match auth.token_url {
            Some((var, documented)) => {
                set(var).unwrap_or_else(|| documented.of(environment).into())
            }
            None => base_url.clone(),
        };
        apis.push(ApiConfig {
            provider,
            credentials: credentials_config(spec, &set)?,
            session_secret_id: set(auth.session_secret_id_var),
            base_url,
            auth_url,
            margin,
            get_limit: spec.get_limits.map(|limits| limits.of(environment)),
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

/// What the Lambdas share API sessions and request budgets through: Secrets Manager for the
/// session, the events table for the renewal lease and the budget.
#[derive(Clone, Debug)]
pub struct SessionSharing {
    pub aws: crate::aws::SdkConfig,
    pub lease_table: String,
}

impl ProviderApis {
    /// Adds `provider`'s API at `base`, logged in to with `token`.
    pub fn with(
        mut self,
        provider: Provider,
        base: &str,
        token: ProviderToken,
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

    /// `provider`'s requests draw on `budget` at `priority` from now on.
    pub fn budgeted(
        mut self,
        provider: Provider,
        budget: RequestBudget,
        priority: Priority,
    ) -> Self {
        for (p, client) in &mut self.clients {
            if *p == provider {
                *client = client.clone().with_budget(budget.clone(), priority);
            }
        }
        self
    }

    /// The client of `provider`'s API, when it is configured.
    pub fn client(&self, provider: Provider) -> Option<&HttpOrderClient<PathsFn>> {
        self.clients
            .iter()
            .find(|(p, _)| *p == provider)
            .map(|(_, client)| client)
    }

    /// The clients of `apis`, their credentials read now (from Secrets Manager in AWS). An API
    /// whose session is shared needs `sharing`; without a session secret, the session is this
    /// process's own. No token is obtained here: the first fetch logs in.
    pub async fn load(
        apis: &[ApiConfig],
        policy: RetryPolicy,
        sharing: Option<&SessionSharing>,
        priority: Priority,
    ) -> Result<Self, LoadError> {
        let mut loaded = Self::default();
        for api in apis {
            let spec = api
                .provider
                .spec()
                .order_api
                .as_ref()
                .ok_or_else(|| LoadError::Client("no order API".into()))?;
            let aws = match sharing {
                Some(sharing) => sharing.aws.clone(),
                None => crate::aws::from_env().await,
            };
            let credentials = match &api.credentials {
                CredentialsConfig::Value(credentials) => {
                    CredentialSource::fixed(credentials.clone())
                }
                CredentialsConfig::SecretId(id) => {
                    CredentialSource::from_secrets_manager(
                        aws_sdk_secretsmanager::Client::new(&aws),
                        id,
                        crate::secrets_manager::refresh_interval()?,
                    )
                    .await?
                }
            };
            let store = match (&api.session_secret_id, sharing) {
                (Some(secret_id), Some(sharing)) => SessionStore::Aws(AwsSessionStore {
                    secrets: aws_sdk_secretsmanager::Client::new(&sharing.aws),
                    session_secret_id: secret_id.clone(),
                    dynamodb: aws_sdk_dynamodb::Client::new(&sharing.aws),
                    table: sharing.lease_table.clone(),
                    provider: api.provider.spec().name,
                }),
                (Some(_), None) => {
                    return Err(LoadError::Client(format!(
                        "{} is set but no table holds the renewal lease",
                        spec.auth.session_secret_id_var
                    )));
                }
                (None, _) => SessionStore::memory(),
            };
            let endpoint =
                AuthEndpoint::new(spec.auth.flow, &api.auth_url).map_err(LoadError::Client)?;
            let token = ProviderToken::new(
                api.provider.spec().name,
                endpoint,
                credentials,
                store,
                api.margin,
            );
            let budget = api.get_limit.map(|limit| {
                let config = BudgetConfig::per_minute(limit);
                match sharing {
                    Some(sharing) => RequestBudget::Dynamo(DynamoBudget {
                        config,
                        client: aws_sdk_dynamodb::Client::new(&sharing.aws),
                        table: sharing.lease_table.clone(),
                        provider: api.provider.spec().name,
                    }),
                    None => RequestBudget::Memory(Arc::new(MemoryBudget::new(config))),
                }
            });
            loaded = loaded
                .with(api.provider, &api.base_url, token, policy.clone())
                .map_err(LoadError::Client)?;
            if let Some(budget) = budget {
                loaded = loaded.budgeted(api.provider, budget, priority);
            }
        }
        Ok(loaded)
    }
}

/// Why the order APIs could not be set up at init.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Credentials(#[from] SecretsError),
    #[error("{0}")]
    Client(String),
}

impl From<ConfigError> for LoadError {
    fn from(error: ConfigError) -> Self {
        Self::Credentials(SecretsError::Config(error))
    }
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

    const CREDENTIALS: [(&str, &str); 4] = [
        (octopus::API_KEY, "k"),
        (octopus::API_SECRET, "s"),
        (optty::CLIENT_ID, "c"),
        (optty::CLIENT_SECRET, "cs"),
    ];

    fn api_of(pairs: &[(&str, &str)], provider: Provider) -> Option<ApiConfig> {
        configured(lookup(pairs))
            .unwrap()
            .into_iter()
            .find(|api| api.provider == provider)
    }

    #[test]
    fn the_environment_picks_the_documented_hosts_unless_a_base_url_is_given() {
        let mut production = CREDENTIALS.to_vec();
        production.push((PROVIDER_ENVIRONMENT, "production"));
        let octopus_api = api_of(&production, Provider::Octopus).unwrap();
        assert_eq!(octopus_api.base_url, "https://api.octopuscards.io");
        assert_eq!(
            octopus_api.auth_url, octopus_api.base_url,
            "Octopus logs in under its host"
        );
        let optty_api = api_of(&production, Provider::Optty).unwrap();
        assert_eq!(optty_api.base_url, "https://api.optty.com");
        assert_eq!(optty_api.auth_url, "https://auth.optty.com/token");
        let sandbox = api_of(&CREDENTIALS, Provider::Optty).unwrap();
        assert_eq!(sandbox.base_url, "https://api.qa.optty.com");
        assert_eq!(sandbox.auth_url, "https://auth.qa.optty.com/token");
        assert_eq!(
            api_of(&CREDENTIALS, Provider::Octopus).unwrap().base_url,
            "https://sandbox-api.octopuscards.io",
            "sandbox unless production is said"
        );
        let mut given = production.clone();
        given.push((octopus::API_BASE_URL, "http://127.0.0.1:3001"));
        given.push((optty::AUTH_URL, "http://127.0.0.1:3001/token"));
        assert_eq!(
            api_of(&given, Provider::Octopus).unwrap().auth_url,
            "http://127.0.0.1:3001"
        );
        assert_eq!(
            api_of(&given, Provider::Optty).unwrap().auth_url,
            "http://127.0.0.1:3001/token"
        );
        assert_eq!(
            api_of(&CREDENTIALS[..2], Provider::Optty),
            None,
            "the Optty API stays off without its credentials"
        );
    }

    #[test]
    fn optty_api_needs_both_credentials() {
        let base = [
            (octopus::API_KEY, "k"),
            (octopus::API_SECRET, "s"),
            (optty::API_BASE_URL, "http://optty"),
        ];
        assert_eq!(
            configured(lookup(&base)).unwrap_err(),
            ConfigError::Missing(optty::API_CREDENTIALS_SECRET_ID)
        );
        let mut half = base.to_vec();
        half.push((optty::CLIENT_ID, "c"));
        assert_eq!(
            configured(lookup(&half)).unwrap_err(),
            ConfigError::Missing(optty::CLIENT_SECRET)
        );
    }

    #[test]
    fn a_credentials_secret_is_preferred_and_a_static_token_is_refused() {
        let base = [
            (octopus::API_KEY, "k"),
            (octopus::API_SECRET, "s"),
            (octopus::API_CREDENTIALS_SECRET_ID, "hookline/octopus-api"),
            (octopus::API_SESSION_SECRET_ID, "hookline/octopus-session"),
            (TOKEN_REFRESH_MARGIN_SECS, "60"),
        ];
        let api = api_of(&base, Provider::Octopus).unwrap();
        assert_eq!(
            api.credentials,
            CredentialsConfig::SecretId("hookline/octopus-api".into())
        );
        assert_eq!(
            api.session_secret_id.as_deref(),
            Some("hookline/octopus-session")
        );
        assert_eq!(api.margin, Some(Duration::from_secs(60)));
        assert_eq!(
            configured(lookup(&[])).unwrap_err(),
            ConfigError::Missing(octopus::API_CREDENTIALS_SECRET_ID),
            "the Octopus API is required (its host is documented, its credentials are not)"
        );
        let error = configured(lookup(&[("OCTOPUS_API_TOKEN", "SECRET-TOKEN")])).unwrap_err();
        assert!(matches!(
            error,
            ConfigError::Invalid {
                var: "OCTOPUS_API_TOKEN",
                ..
            }
        ));
        assert!(!error.to_string().contains("SECRET-TOKEN"));
    }
}
