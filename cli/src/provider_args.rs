//! The providers as the CLI knows them, all from the registry (`hookline::providers`): the
//! `--provider` values, signing, the secrets and API flags, and the receivers `hookline serve`
//! and `hookline replay` run for every provider at once. Nothing here names a provider.

use std::collections::BTreeMap;
use std::sync::Arc;

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use hookline::api_auth::{
    AuthEndpoint, CredentialSource, Credentials, ProviderToken, SessionStore,
};
use hookline::api_budget::{BudgetConfig, MemoryBudget, RequestBudget};
use hookline::config::{ProviderEnvironment, env_lookup};
use hookline::keyring::LoadedSecrets;
use hookline::providers::{
    AuthSpec, Provider, Route, SignRequest, VerifiedEvent, WebhookRoute, WebhookScheme,
};
use hookline::queue::Queue;
use hookline::receiver::{Receiver, Reply};

/// A webhook route named on the command line (`--provider owlpay-harbor`).
#[derive(Clone, Copy)]
pub struct RouteArg {
    pub provider: Provider,
    pub route: &'static WebhookRoute,
}

impl std::fmt::Debug for RouteArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.route.name)
    }
}

/// Parses `--provider`: one of the registry's route names.
pub fn parse_route(name: &str) -> Result<RouteArg, String> {
    Provider::route(name)
        .map(|(provider, route)| RouteArg { provider, route })
        .ok_or_else(|| {
            let names: Vec<_> = Provider::routes().map(|(_, r)| r.name).collect();
            format!("unknown provider {name:?}; one of {}", names.join(", "))
        })
}

/// A request as the provider would send it.
pub struct SignedRequest {
    /// The path, with the path parameter filled in.
    pub path: String,
    /// The route as API Gateway names it, e.g. `POST /webhooks/optty/{token}`.
    pub route_key: &'static str,
    /// The route's path parameter, when it has one.
    pub path_parameter: Option<(&'static str, String)>,
    pub headers: Vec<(String, String)>,
}

impl RouteArg {
    /// The test secret (Optty: path token) the samples are signed with.
    pub fn test_secret(self) -> &'static str {
        self.route.test_secret
    }

    /// Signs `body` as the provider would at `timestamp` with `secret`. `source` names the
    /// Standard Webhooks sender.
    pub fn sign(
        self,
        secret: &str,
        source: &str,
        body: &[u8],
        timestamp: i64,
    ) -> Result<SignedRequest, String> {
        self.sign_with(secret, source, body, timestamp, &env_lookup)
    }

    /// [`sign`](Self::sign) with the scheme's settings read from `settings` (a deployed
    /// stack's parameters) instead of the environment.
    pub fn sign_with(
        self,
        secret: &str,
        source: &str,
        body: &[u8],
        timestamp: i64,
        settings: &dyn Fn(&str) -> Option<String>,
    ) -> Result<SignedRequest, String> {
        let signed = (self.route.sign)(&SignRequest {
            secret,
            source,
            body,
            timestamp,
            settings,
        })?;
        Ok(SignedRequest {
            path: self.route.path(signed.path_param.as_deref()),
            route_key: self.route.route_key,
            path_parameter: self.route.param_name().zip(signed.path_param),
            headers: signed.headers,
        })
    }

    /// What the provider's receiver makes of `body` signed with its test secret at `timestamp`:
    /// the same checks the Lambda runs, so a sample that passes here passes there.
    pub fn verify_sample(
        self,
        source: &str,
        body: &[u8],
        timestamp: i64,
    ) -> Result<VerifiedEvent, String> {
        let request = self.sign(self.test_secret(), source, body, timestamp)?;
        let headers: http::HeaderMap = request
            .headers
            .iter()
            .map(|(name, value)| {
                let name =
                    http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
                let value = http::HeaderValue::from_str(value).map_err(|e| e.to_string())?;
                Ok((name, value))
            })
            .collect::<Result<_, String>>()?;
        let route = Route {
            path: &request.path,
            param: request
                .path_parameter
                .as_ref()
                .map(|(_, value)| value.as_str()),
        };
        let scheme = LocalSecrets::default().scheme(self.provider)?;
        scheme
            .verify_routed(&route, &headers, body, timestamp)
            .map_err(|e| e.to_string())
    }

    /// The payload as its provider would write it at `timestamp`: `Some` with its signed body
    /// time (Octopus `created_at`, Coinme `at`) moved to `timestamp` when its own is older than
    /// the receiver accepts; `None` when the file's bytes can be sent as they are.
    pub fn redated(self, body: &[u8], timestamp: i64) -> Result<Option<Vec<u8>>, String> {
        let scheme = LocalSecrets::default().scheme(self.provider)?;
        let max_age =
            hookline::receiver::max_event_age_secs(hookline::idempotency::DEFAULT_RECORD_TTL_SECS);
        Ok(scheme
            .body_time_field()
            .and_then(|field| hookline::webhook::redated_body(body, field, timestamp, max_age)))
    }

    /// The body as the route's receiver would keep it in the queue message (Optty's card token
    /// redacted; every other body as it is).
    pub fn stored_sample_body(self, body: &str) -> Result<String, String> {
        let scheme = LocalSecrets::default().scheme(self.provider)?;
        Ok(scheme.stored_body(body).into_owned())
    }
}

/// The active secrets of every receiver: `--{route}-secrets`, or the variables the Lambdas read
/// (`{PREFIX}_WEBHOOK_SECRETS`), defaulting to the published test secrets. Built from the
/// registry, so a new provider's flags appear without an edit here.
#[derive(Clone)]
pub struct LocalSecrets {
    /// By secret list (`env_prefix`).
    values: BTreeMap<&'static str, String>,
}

impl Default for LocalSecrets {
    fn default() -> Self {
        Self {
            values: Provider::routes()
                .map(|(_, r)| (r.secrets.env_prefix, r.secrets.test_value.to_string()))
                .collect(),
        }
    }
}

impl LocalSecrets {
    /// The lists as a receiver loads them.
    pub fn loaded(&self) -> LoadedSecrets {
        let mut loaded = LoadedSecrets::default();
        for (_, route) in Provider::routes() {
            if let Some(value) = self.values.get(route.secrets.env_prefix) {
                loaded.insert(route.secrets, format!("--{}-secrets", route.name), value);
            }
        }
        loaded
    }

    /// The secrets of `env_prefix`'s routes, one by one (a JSON array, a JSON object of lists by
    /// source, or comma-separated).
    pub fn items(&self, env_prefix: &str) -> Vec<String> {
        self.values
            .get(env_prefix)
            .map(|list| list_items(list))
            .unwrap_or_default()
    }

    /// The list of `env_prefix`'s routes, as given.
    pub fn list(&self, env_prefix: &str) -> Option<&str> {
        self.values.get(env_prefix).map(String::as_str)
    }

    /// Sets the list of `env_prefix`'s routes (as read from a stack's secret).
    pub fn set(&mut self, env_prefix: &'static str, list: String) {
        self.values.insert(env_prefix, list);
    }

    /// The names of the routes among `routes` whose active list holds the route's published
    /// test secret: anyone can sign with it, so it vouches for nothing outside a local stack.
    pub fn published_in_use<'a>(
        &self,
        routes: impl IntoIterator<Item = &'a WebhookRoute>,
    ) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = routes
            .into_iter()
            .filter(|route| {
                self.values
                    .get(route.secrets.env_prefix)
                    .is_some_and(|list| list_holds(list, route.secrets.test_value))
            })
            .map(|route| route.name)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// `provider`'s scheme with these secrets.
    pub fn scheme(&self, provider: Provider) -> Result<Box<dyn WebhookScheme>, String> {
        (provider.spec().scheme)(&self.loaded(), &env_lookup).map_err(|e| e.to_string())
    }
}

/// Whether a secret list (a JSON array, or comma-separated) holds `secret`. A Standard Webhooks
/// list (an object by source) is compared whole, as its published test value is.
fn list_holds(list: &str, secret: &str) -> bool {
    match serde_json::from_str::<Vec<String>>(list) {
        Ok(items) => items.iter().any(|item| item.trim() == secret),
        Err(_) => list.split(',').any(|item| item.trim() == secret),
    }
}

/// A secret list's items, trimmed: a JSON array, a JSON object of arrays by source (Standard
/// Webhooks), or comma-separated.
fn list_items(list: &str) -> Vec<String> {
    use serde_json::Value;
    let strings = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .filter_map(|v| v.as_str().map(|s| s.trim().to_string()))
            .collect()
    };
    match serde_json::from_str::<Value>(list) {
        Ok(Value::Array(items)) => strings(&items),
        Ok(Value::Object(sources)) => sources
            .values()
            .filter_map(Value::as_array)
            .flat_map(|items| strings(items))
            .collect(),
        _ => list
            .split(',')
            .map(|item| item.trim().to_string())
            .collect(),
    }
}

impl Args for LocalSecrets {
    fn augment_args(cmd: Command) -> Command {
        Provider::routes().fold(cmd, |cmd, (_, route)| {
            let list = route.secrets;
            cmd.arg(
                Arg::new(list.env_prefix)
                    .long(format!("{}-secrets", route.name))
                    .value_name("LIST")
                    .env(list.list_var())
                    .default_value(list.test_value)
                    .hide_env_values(true)
                    .hide_default_value(true)
                    .help(format!(
                        "Active secrets of {} (comma-separated or a JSON array)",
                        route.route_key
                    )),
            )
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for LocalSecrets {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut secrets = Self::default();
        secrets.update_from_arg_matches(matches)?;
        Ok(secrets)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for (_, route) in Provider::routes() {
            let prefix = route.secrets.env_prefix;
            if let Some(value) = matches.get_one::<String>(prefix) {
                self.values.insert(prefix, value.clone());
            }
        }
        Ok(())
    }
}

/// The order APIs the local processor and poller fetch from, by the registry:
/// `--{provider}-api-base`, and the credentials each logs in with under the names of the
/// variables the Lambdas read (`--octopus-api-key`, `--octopus-api-secret`,
/// `--optty-client-id`, `--optty-client-secret`; `--optty-auth-url` for a token endpoint of its
/// own). An API without a base goes to the stand-in, with the stand-in's published test
/// credentials unless others are given.
#[derive(Clone, Default)]
pub struct LocalApis {
    values: BTreeMap<Provider, LocalApi>,
}

/// One API as given on the command line.
#[derive(Clone, Default)]
struct LocalApi {
    base: Option<String>,
    auth_url: Option<String>,
    credentials: [Option<String>; 2],
}

/// One API as the local pipeline uses it. Its session store is shared by every client made from
/// it, as the Lambdas' containers share theirs: the processor and the pollers of `serve` log in
/// once between them.
#[derive(Clone)]
pub struct ResolvedApi {
    pub provider: Provider,
    pub base: String,
    pub auth_url: String,
    pub credentials: [String; 2],
    pub sessions: SessionStore,
    /// The provider's GET budget, shared by the clients made from this API; none against the
    /// stand-in, which limits nothing (and the benchmarks would measure the budget instead).
    pub budget: Option<RequestBudget>,
}

impl ResolvedApi {
    /// The token the clients of this API share.
    pub fn token(&self) -> Result<ProviderToken, String> {
        let spec = self
            .provider
            .spec()
            .order_api
            .as_ref()
            .ok_or("no order API")?;
        let credentials = Credentials::new(&self.credentials[0], &self.credentials[1])?;
        Ok(ProviderToken::new(
            self.provider.spec().name,
            AuthEndpoint::new(spec.auth.flow, &self.auth_url)?,
            CredentialSource::fixed(credentials),
            self.sessions.clone(),
            None,
        ))
    }
}

/// The flags that once took a static API token: still recognised, so a script using one is
/// told what replaced it instead of failing on an unknown flag.
fn retired_flag(provider: Provider) -> String {
    format!("{}-api-token", provider.spec().name)
}

impl LocalApis {
    fn providers() -> impl Iterator<Item = Provider> {
        Provider::ALL
            .into_iter()
            .filter(|p| p.spec().order_api.is_some())
    }

    fn base_id(provider: Provider) -> String {
        format!("{}-api-base", provider.spec().name)
    }

    /// Every API's base, token endpoint and credentials; `stub` stands in for those without a
    /// base (its auth endpoints too).
    pub fn resolved(&self, stub: Option<&str>) -> Vec<ResolvedApi> {
        let environment =
            ProviderEnvironment::from_lookup(env_lookup).unwrap_or(ProviderEnvironment::Sandbox);
        Self::providers()
            .filter_map(|provider| {
                let auth = &provider.spec().order_api.as_ref()?.auth;
                let given = self.values.get(&provider).cloned().unwrap_or_default();
                let stubbed = given.base.is_none();
                let base = given.base.or(stub.map(str::to_string)).unwrap_or_default();
                let auth_url = match (given.auth_url, auth.token_url) {
                    (Some(url), _) => url,
                    (None, Some(_)) if stubbed => format!("{}/token", base.trim_end_matches('/')),
                    (None, Some((_, documented))) => documented.of(environment).to_string(),
                    (None, None) => base.clone(),
                };
                let [id, secret] = given.credentials;
                let limits = provider.spec().order_api.as_ref()?.get_limits;
                let budget = limits.filter(|_| !stubbed).map(|limits| {
                    let config = BudgetConfig::per_minute(limits.of(environment));
                    RequestBudget::Memory(Arc::new(MemoryBudget::new(config)))
                });
                Some(ResolvedApi {
                    budget,
                    provider,
                    base,
                    auth_url,
                    credentials: [
                        id.unwrap_or_else(|| auth.test_credentials[0].into()),
                        secret.unwrap_or_else(|| auth.test_credentials[1].into()),
                    ],
                    sessions: SessionStore::memory(),
                })
            })
            .collect()
    }

    /// True when every API has a base of its own: no stand-in is needed.
    pub fn all_given(&self) -> bool {
        Self::providers().all(|p| self.values.get(&p).is_some_and(|api| api.base.is_some()))
    }
}

impl Args for LocalApis {
    fn augment_args(cmd: Command) -> Command {
        Self::providers().fold(cmd, |cmd, provider| {
            let Some(api) = &provider.spec().order_api else {
                return cmd;
            };
            let name = provider.spec().name;
            let base = Self::base_id(provider);
            let mut cmd = cmd.arg(
                Arg::new(base.clone())
                    .long(base)
                    .value_name("URL")
                    .env(api.base_url_var)
                    .help(format!(
                        "The {name} API the processor fetches from (default: a stand-in serving events/provider-api/)"
                    )),
            );
            for (var, what) in api.auth.credential_vars.iter().zip(["id", "secret"]) {
                let flag = AuthSpec::flag(var);
                cmd = cmd.arg(
                    Arg::new(flag.clone())
                        .long(flag)
                        .value_name(if what == "id" { "ID" } else { "SECRET" })
                        .env(var)
                        .hide_env_values(true)
                        .help(format!(
                            "The {name} API credential ({what}) to log in with (default: the stand-in's)"
                        )),
                );
            }
            if let Some((var, _)) = api.auth.token_url {
                let flag = AuthSpec::flag(var);
                cmd = cmd.arg(
                    Arg::new(flag.clone()).long(flag).value_name("URL").env(var).help(format!(
                        "The {name} token endpoint (default: the stand-in's, or with --{name}-api-base the documented one of PROVIDER_ENVIRONMENT)"
                    )),
                );
            }
            let retired = retired_flag(provider);
            cmd.arg(Arg::new(retired.clone()).long(retired).value_name("TOKEN").hide(true))
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for LocalApis {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut apis = Self::default();
        apis.update_from_arg_matches(matches)?;
        Ok(apis)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for provider in Self::providers() {
            let Some(api) = &provider.spec().order_api else {
                continue;
            };
            if matches.get_one::<String>(&retired_flag(provider)).is_some() {
                let [id, secret] = api.auth.credential_vars.map(AuthSpec::flag);
                return Err(clap::Error::raw(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!(
                        "--{} is retired: the {} API issues tokens that expire, so hookline logs in \
                         with credentials instead; give --{id} and --{secret}\n",
                        retired_flag(provider),
                        provider.spec().name
                    ),
                ));
            }
            let get = |id: &str| matches.get_one::<String>(id).cloned();
            let [id, secret] = api
                .auth
                .credential_vars
                .map(|var| get(&AuthSpec::flag(var)));
            self.values.insert(
                provider,
                LocalApi {
                    base: get(&Self::base_id(provider)),
                    auth_url: api
                        .auth
                        .token_url
                        .and_then(|(var, _)| get(&AuthSpec::flag(var))),
                    credentials: [id, secret],
                },
            );
        }
        Ok(())
    }
}

/// A receiver of any provider.
pub type AnyReceiver<Q> = Receiver<Box<dyn WebhookScheme>, Q>;

/// One receiver per provider, all sending to clones of one queue, with the routes each serves.
pub struct Receivers<Q> {
    pub routes: Vec<(&'static WebhookRoute, Arc<AnyReceiver<Q>>)>,
}

impl<Q: Queue + Clone> Receivers<Q> {
    pub fn new(secrets: &LocalSecrets, queue: Q) -> Result<Self, String> {
        let mut routes = Vec::new();
        for provider in Provider::ALL {
            let receiver = Arc::new(Receiver::new(secrets.scheme(provider)?, queue.clone()));
            for route in provider.spec().routes {
                routes.push((route, Arc::clone(&receiver)));
            }
        }
        Ok(Self { routes })
    }
}

impl<Q: Queue> Receivers<Q> {
    /// Hands a request to the receiver its path belongs to, as API Gateway's routes do;
    /// `None` for a path no receiver serves.
    pub async fn receive(
        &self,
        route: &Route<'_>,
        method: &http::Method,
        headers: &http::HeaderMap,
        body: &[u8],
        now: time::OffsetDateTime,
    ) -> Option<Reply> {
        let (_, receiver) = self
            .routes
            .iter()
            .find(|(declared, _)| declared.matches(route.path).is_some())?;
        Some(
            receiver
                .receive_routed(route, method, headers, body, now)
                .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_signs_its_own_way() {
        let body = br#"{"id":"e1","type":"ORDER_TEMPLATE","uuid":"u1","event":"order.received"}"#;
        for (provider, route) in Provider::routes() {
            let arg = RouteArg { provider, route };
            let signed = arg
                .sign(arg.test_secret(), "acme", body, 1_795_341_600)
                .unwrap_or_else(|e| panic!("{arg:?}: {e}"));
            assert!(signed.path.starts_with("/webhooks/"), "{arg:?}");
        }
        let std = parse_route("std").unwrap();
        let std = std.sign(std.test_secret(), "acme", body, 1).unwrap();
        assert_eq!(std.path, "/webhooks/std/acme");
        assert!(
            std.headers
                .iter()
                .any(|(n, v)| n == "webhook-id" && v == "e1")
        );
    }
}
