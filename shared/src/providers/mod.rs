//! The provider registry: every provider hookline receives webhooks from, and one module each
//! that owns everything about it: its routes and secret lists, its webhook scheme and signer,
//! its processing rules (plan and state table), its order API paths and watch rules, its
//! forwarded fields. The processor, the poller, the CLI and the template checks find providers
//! here (`Provider::ALL`, [`Provider::of_event`]); no other module names one.
//!
//! Adding a provider is its module here and one line in [`registry!`] below, plus its function
//! crate and its sample payloads; `hookline template --write` and `events/generate.sh` write the
//! rest (docs/src/contributing.md, "Add a provider"; `scripts/scratch-provider.sh` adds one and runs the checks).

mod order_apis;

use serde_json::Value;

pub use crate::webhook::{MAX_EVENT_ID_LEN, Rejection, Route, VerifiedEvent, WebhookScheme};
pub use order_apis::{
    ApiConfig, CredentialsConfig, LoadError, ProviderApis, SessionSharing,
    configured as configured_order_apis,
};

use crate::api_auth::AuthFlow;
use crate::config::ProviderEnvironment;
use crate::keyring::{LoadedSecrets, SecretList, SetupError};
use crate::message::QueueMessage;
use crate::order::OrderKind;
use crate::order_api::{FetchError, PathsFn};
use crate::order_state::OrderState;
use crate::plan::{Action, Plan, PlanError};
use crate::signature::split_list;
use crate::test_event::{self, TestEvent};
use crate::watch::{Observation, Watch};

/// Declares the providers: each one's module, its [`Provider`] variant, its place in
/// [`Provider::ALL`] (the order the CLI, the template and the dashboard list them in) and its
/// [`ProviderSpec`] (the module's `SPEC`).
macro_rules! registry {
    ($($variant:ident => $module:ident),+ $(,)?) => {
        $(pub mod $module;)+

        /// A provider hookline receives webhooks from: one receiver function each.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Provider {
            $($variant,)+
        }

        impl Provider {
            pub const ALL: [Self; [$(Self::$variant),+].len()] = [$(Self::$variant),+];

            /// Everything hookline knows about the provider.
            pub fn spec(self) -> &'static ProviderSpec {
                match self {
                    $(Self::$variant => &$module::SPEC,)+
                }
            }
        }
    };
}

registry! {
    Octopus => octopus,
    Coinme => coinme,
    OwlPay => owlpay,
    Optty => optty,
    StandardWebhooks => standard_webhooks,
}

impl Provider {
    /// The provider whose events carry `name` (queue messages, order refs, table keys).
    pub fn of_event(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.spec().routes.iter().any(|r| r.events.names(name)))
    }

    /// Every webhook route, with its provider.
    pub fn routes() -> impl Iterator<Item = (Self, &'static WebhookRoute)> {
        Self::ALL
            .into_iter()
            .flat_map(|p| p.spec().routes.iter().map(move |r| (p, r)))
    }

    /// The route the CLI calls `name` (`--provider owlpay-harbor`).
    pub fn route(name: &str) -> Option<(Self, &'static WebhookRoute)> {
        Self::routes().find(|(_, route)| route.name == name)
    }
}

/// The route the CLI signs for when none is named: the first provider's.
pub const DEFAULT_ROUTE: &str = "octopus";

/// The source name the samples of per-source routes (`/webhooks/std/{source}`) use.
pub const TEST_SOURCE: &str = standard_webhooks::TEST_SOURCE;

/// Variables a scheme reads besides its secrets (Coinme's header and encoding).
pub type Settings<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Builds a provider's scheme from its loaded secret lists and settings.
pub type SchemeFn = fn(&LoadedSecrets, Settings<'_>) -> Result<Box<dyn WebhookScheme>, SetupError>;

/// A provider's own scheme constructor, for [`ProviderSpec::scheme`]: the scheme boxed.
pub(crate) fn boxed<S: WebhookScheme + 'static>(
    scheme: Result<S, SetupError>,
) -> Result<Box<dyn WebhookScheme>, SetupError> {
    scheme.map(|scheme| Box::new(scheme) as Box<dyn WebhookScheme>)
}

/// For events that are only hints ([`Action::Confirm`]): the state a fetched order shows, from
/// the notification's claim, its data and the fetched order.
pub type ConfirmFn = fn(&OrderState, &Value, &Value) -> Result<OrderState, FetchError>;

/// Everything about one provider.
pub struct ProviderSpec {
    /// Its module's path (`module_path!()`), e.g. `hookline::providers::octopus`.
    pub module: &'static str,
    /// Lowercase name: its receiver crate is `functions/{name}-webhook`, its API Gateway sample
    /// events are in `events/{name}-webhook/`.
    pub name: &'static str,
    /// Its template resources are `{template_name}WebhookFunction`, `…WebhookLogGroup` and
    /// `{template_name}RejectedAlarm`.
    pub template_name: &'static str,
    pub routes: &'static [WebhookRoute],
    /// The secret lists its receiver reads.
    pub secrets: &'static [SecretList],
    /// Variables its scheme reads besides its secrets.
    pub settings: &'static [Setting],
    pub scheme: SchemeFn,
    /// How its receiver appears in the SAM template.
    pub stack: StackSpec,
    pub plan: fn(&QueueMessage) -> Result<Plan, PlanError>,
    pub confirm: Option<ConfirmFn>,
    /// The API the processor fetches full orders from, when the provider has one.
    pub order_api: Option<OrderApiSpec>,
    /// The event data fields an order update forwards; `None`: all of them.
    pub forwarded_fields: Option<&'static [&'static str]>,
    /// How its orders are watched by polling, when its documents ask for that.
    pub watch: Option<WatchRules>,
    /// The body of a test event ([`test_event`]) in its own shape, as `hookline smoke` sends it.
    pub test_event: fn(&TestEvent<'_>) -> String,
}

/// A variable a provider's scheme reads besides its secrets, set by a template parameter of the
/// same words ([`setting_parameter`]).
pub struct Setting {
    pub var: &'static str,
    pub default: &'static str,
    pub allowed: Allowed,
    pub description: &'static str,
}

/// The values a [`Setting`]'s template parameter accepts.
pub enum Allowed {
    Values(&'static [&'static str]),
    Pattern(&'static str),
}

/// How a provider's receiver appears in the SAM template. `hookline template --write` writes
/// every receiver's parameters, conditions, resources (function, function URL, log group,
/// accepted-webhook metric filter, rejected-webhook alarm), outputs and dashboard rows from this,
/// the routes and the secret lists (template.yaml, between the `generated: receivers` markers).
pub struct StackSpec {
    /// The receiver function's description.
    pub description: &'static str,
    /// In every stack (its first secret list's parameter is required), or only when that
    /// parameter names a secret.
    pub always_deployed: bool,
    /// What many rejected requests mean: the rejected-webhook alarm's description.
    pub rejected_alarm: &'static str,
    /// What to do with its webhook URL: the stack output's description.
    pub url_hint: &'static str,
    /// Metrics of its own, by route, shown on the dashboard beside the common ones.
    pub route_metrics: &'static [&'static str],
}

/// One webhook route of a provider's receiver.
pub struct WebhookRoute {
    /// What the CLI calls it (`--provider`, `--{name}-secrets`); its payloads are in
    /// `events/payloads/{name}/`.
    pub name: &'static str,
    /// As the template and API Gateway name it, e.g. `POST /webhooks/optty/{token}`.
    pub route_key: &'static str,
    /// The provider name its events carry.
    pub events: EventNames,
    /// The secret list that verifies it.
    pub secrets: SecretList,
    /// The published test secret its samples are signed with (the list's test value, or for a
    /// per-source list, the test source's secret).
    pub test_secret: &'static str,
    /// Signs a body as the provider would.
    pub sign: fn(&SignRequest<'_>) -> Result<Signed, String>,
    /// Who signs for it, read from its secret list's stored text (`hookline smoke`).
    pub sender: fn(&str) -> Result<Sender, String>,
}

/// What signs a route's requests: the secret new signatures are made with and, for per-source
/// routes, the source it belongs to.
pub struct Sender {
    pub secret: String,
    pub source: Option<String>,
}

/// [`WebhookRoute::sender`] of a plain secret list: its first entry, which signs.
pub(crate) fn first_listed(text: &str) -> Result<Sender, String> {
    let entries = split_list(text).map_err(|e| e.to_string())?;
    let secret = entries.into_iter().next().ok_or("the list is empty")?;
    Ok(Sender {
        secret,
        source: None,
    })
}

/// The provider name a route's events carry.
#[derive(Clone, Copy, Debug)]
pub enum EventNames {
    Exactly(&'static str),
    /// The prefix and the route's path parameter: `std:{source}`.
    Prefixed(&'static str),
}

impl EventNames {
    pub fn names(self, name: &str) -> bool {
        match self {
            Self::Exactly(exact) => name == exact,
            Self::Prefixed(prefix) => name.starts_with(prefix),
        }
    }
}

/// What a signer needs: the secret (Optty: the path token), the Standard Webhooks source, the
/// body and the signing time.
pub struct SignRequest<'a> {
    pub secret: &'a str,
    pub source: &'a str,
    pub body: &'a [u8],
    pub timestamp: i64,
    pub settings: Settings<'a>,
}

/// A request as the provider would send it: its headers and its path parameter's value.
pub struct Signed {
    pub headers: Vec<(String, String)>,
    pub path_param: Option<String>,
}

impl Signed {
    /// Headers with static names, as the schemes' `signed_headers` give them.
    pub(crate) fn new(headers: Vec<(&str, String)>, path_param: Option<String>) -> Self {
        Self {
            headers: headers
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
            path_param,
        }
    }
}

impl WebhookRoute {
    /// `POST`, or `ANY`.
    pub fn method(&self) -> &'static str {
        self.route_key.split_once(' ').map_or("ANY", |(m, _)| m)
    }

    /// The path as declared, e.g. `/webhooks/optty/{token}`.
    pub fn path_template(&self) -> &'static str {
        self.route_key
            .split_once(' ')
            .map_or(self.route_key, |(_, p)| p)
    }

    /// The name of its path parameter, if it has one.
    pub fn param_name(&self) -> Option<&'static str> {
        let path = self.path_template();
        let start = path.find('{')?;
        path[start + 1..].strip_suffix('}')
    }

    /// The path with its parameter set to `param`.
    pub fn path(&self, param: Option<&str>) -> String {
        let template = self.path_template();
        match (template.find('{'), param) {
            (Some(start), Some(value)) => format!("{}{value}", &template[..start]),
            _ => template.to_string(),
        }
    }

    /// Whether a request for `path` is this route's; then its path parameter's value.
    pub fn matches<'p>(&self, path: &'p str) -> Option<Option<&'p str>> {
        let path = path.trim_end_matches('/');
        let template = self.path_template();
        match template.find('{') {
            None => (path == template).then_some(None),
            Some(start) => {
                let value = path.strip_prefix(&template[..start])?;
                (!value.is_empty() && !value.contains('/')).then_some(Some(value))
            }
        }
    }
}

/// The template parameter that sets a scheme's setting variable: its words capitalised and
/// joined (`COINME_SIGNATURE_HEADER` ← `CoinmeSignatureHeader`; the template checks hold every
/// setting to it), so `hookline smoke` reads a deployed stack's settings from its parameters.
pub fn setting_parameter(variable: &str) -> String {
    variable
        .split('_')
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// A provider API the processor fetches orders from.
pub struct OrderApiSpec {
    pub base_url_var: &'static str,
    /// How hookline logs in to it.
    pub auth: AuthSpec,
    /// GET requests a minute the provider allows per account, by environment; every caller
    /// draws on one shared budget of it ([`crate::api_budget`]). `None`: none documented.
    pub get_limits: Option<DocumentedLimits>,
    /// The processor does not start without it; an optional API left out fails its
    /// provider's fetches (their events reach the dead-letter queue).
    pub required: bool,
    /// The provider's documented hosts, used when no base URL is given.
    pub documented_hosts: Option<DocumentedHosts>,
    /// Where an order lives under the base URL.
    pub paths: PathsFn,
    /// What the stand-in API serves: a path under the base (one `{id}` parameter) and the folder
    /// of `events/provider-api/` holding its orders as `{id}.json`; a path without `{id}` is a
    /// list, served from `wallet-{wallet_id}.json` by its `wallet_id` query.
    pub stub_routes: &'static [(&'static str, &'static str)],
}

/// How a provider's API is logged in to ([`crate::api_auth`]): credentials are configured,
/// tokens are obtained.
pub struct AuthSpec {
    pub flow: AuthFlow,
    /// The two variables holding the credentials in local runs: the id (API key, client id),
    /// then the secret. `hookline serve` takes them as flags of the same name
    /// (`OCTOPUS_API_KEY` → `--octopus-api-key`).
    pub credential_vars: [&'static str; 2],
    /// In AWS: the Secrets Manager secret holding the credentials as JSON (preferred).
    pub credentials_secret_id_var: &'static str,
    /// In AWS: the Secrets Manager secret every container shares the session in.
    pub session_secret_id_var: &'static str,
    /// A token endpoint apart from the API (client credentials): its variable and its
    /// documented URLs; `None`: the endpoints are under the API's base URL.
    pub token_url: Option<(&'static str, DocumentedHosts)>,
    /// The credentials the stand-in API accepts and `hookline serve` uses unless told
    /// otherwise. Published; never used by a deployed stack.
    pub test_credentials: [&'static str; 2],
    /// The variable that once held a static token: set, it stops the function with an
    /// explanation rather than being ignored.
    pub retired_token_var: &'static str,
}

impl AuthSpec {
    /// The `hookline serve` flag of a variable: `OPTTY_CLIENT_ID` → `optty-client-id`.
    pub fn flag(var: &str) -> String {
        var.to_ascii_lowercase().replace('_', "-")
    }
}

/// A provider's documented request limit in each environment.
#[derive(Clone, Copy, Debug)]
pub struct DocumentedLimits {
    pub sandbox: u32,
    pub production: u32,
}

impl DocumentedLimits {
    pub fn of(self, environment: ProviderEnvironment) -> u32 {
        match environment {
            ProviderEnvironment::Sandbox => self.sandbox,
            ProviderEnvironment::Production => self.production,
        }
    }
}

/// A provider API's documented base URL in each environment.
#[derive(Clone, Copy, Debug)]
pub struct DocumentedHosts {
    pub sandbox: &'static str,
    pub production: &'static str,
}

impl DocumentedHosts {
    pub fn of(self, environment: ProviderEnvironment) -> &'static str {
        match environment {
            ProviderEnvironment::Sandbox => self.sandbox,
            ProviderEnvironment::Production => self.production,
        }
    }
}

/// How a provider's orders are watched by polling.
pub struct WatchRules {
    /// Accepts a registration's kind and order id, or says why not.
    pub check: fn(OrderKind, &str) -> Result<(), String>,
    /// What a fetched order says compared with what the watch last saw (pure).
    pub observe: fn(&Watch, &Value, i64) -> Observation,
}

/// Names of the providers whose orders can be watched.
pub fn watchable_names() -> Vec<&'static str> {
    Provider::ALL
        .into_iter()
        .filter(|p| p.spec().watch.is_some())
        .map(|p| p.spec().name)
        .collect()
}

/// Plans one queue message by the rules of the provider that sent it.
/// A test event ([`test_event`]) of a known provider is planned as one, before its rules.
pub fn plan(message: &QueueMessage) -> Result<Plan, PlanError> {
    match Provider::of_event(&message.provider) {
        Some(_) if test_event::is_test_event(message) => test_event::plan(message),
        Some(provider) => (provider.spec().plan)(message),
        None => Err(PlanError::UnknownProvider(message.provider.clone())),
    }
}

/// The state to record once the order is fetched: the plan's own, or for events that are only
/// hints, the one the fetched order shows (`None` until it is fetched).
pub fn confirmed_state(
    plan: &Plan,
    fetched: Option<&Value>,
) -> Result<Option<OrderState>, FetchError> {
    match (&plan.action, fetched) {
        (Action::Record { state, .. }, _) => Ok(Some(state.clone())),
        (Action::Confirm { claimed }, Some(order)) => {
            let confirm = Provider::of_event(&claimed.order.provider)
                .and_then(|p| p.spec().confirm)
                .ok_or_else(|| FetchError::NotConfigured(claimed.order.provider.clone()))?;
            confirm(claimed, &plan.event_data, order).map(Some)
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_found_by_its_name_and_its_events() {
        for (provider, route) in Provider::routes() {
            assert_eq!(Provider::route(route.name).map(|(p, _)| p), Some(provider));
            let name = match route.events {
                EventNames::Exactly(name) => name.to_string(),
                EventNames::Prefixed(prefix) => format!("{prefix}acme"),
            };
            assert_eq!(Provider::of_event(&name), Some(provider), "{name}");
        }
        assert_eq!(Provider::of_event("nobody"), None);
    }

    /// What `hookline smoke` does for every route, on the published test secrets: the sender
    /// read from the list's text signs the provider's test event, the route's scheme accepts it
    /// as a test event, and the processor plans it as one (nothing recorded, nothing fetched).
    #[test]
    fn every_routes_test_event_is_accepted_and_planned_as_a_test() {
        let mut loaded = LoadedSecrets::default();
        for (_, route) in Provider::routes() {
            loaded.insert(route.secrets, "test", route.secrets.test_value);
        }
        let no_settings = |_: &str| None;
        let now = 1_795_687_200;
        for (provider, route) in Provider::routes() {
            let spec = provider.spec();
            let sender = (route.sender)(route.secrets.test_value).unwrap();
            assert_eq!(sender.secret, route.test_secret, "{}", route.name);
            let id = format!("hookline-test-{}", route.name);
            let body = (spec.test_event)(&TestEvent {
                id: &id,
                at: time::OffsetDateTime::from_unix_timestamp(now).unwrap(),
            });
            let source = sender.source.as_deref().unwrap_or(TEST_SOURCE);
            let signed = (route.sign)(&SignRequest {
                secret: &sender.secret,
                source,
                body: body.as_bytes(),
                timestamp: now,
                settings: &no_settings,
            })
            .unwrap();
            let mut headers = http::HeaderMap::new();
            for (name, value) in &signed.headers {
                headers.insert(
                    http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                );
            }
            let path = route.path(signed.path_param.as_deref());
            let scheme = (spec.scheme)(&loaded, &no_settings).unwrap();
            let event = scheme
                .verify_routed(
                    &Route {
                        path: &path,
                        param: signed.path_param.as_deref(),
                    },
                    &headers,
                    body.as_bytes(),
                    now,
                )
                .unwrap_or_else(|e| panic!("{}: {e}", route.name));
            assert_eq!(
                event.event_type,
                test_event::TEST_EVENT_TYPE,
                "{}",
                route.name
            );
            assert!(event.event_id.starts_with(&id), "{}", route.name);
            let message = QueueMessage {
                v: 1,
                provider: event.provider,
                event_id: event.event_id,
                event_type: event.event_type,
                received_at: "2026-11-26T10:00:00Z".into(),
                body,
                ..QueueMessage::default()
            };
            let plan = plan(&message).unwrap();
            assert_eq!(plan.action, Action::PassOn, "{}", route.name);
            assert!(plan.known_type && !plan.fetches(), "{}", route.name);
        }
    }

    #[test]
    fn a_sender_is_the_first_secret_listed_and_never_shown_in_errors() {
        let sender = first_listed(" s-one-0123456789abcdef , s-two ").unwrap();
        assert_eq!(sender.secret, "s-one-0123456789abcdef");
        assert!(sender.source.is_none());
        assert!(first_listed(" , ").is_err());
        let (_, std) = Provider::route("std").unwrap();
        let sender = (std.sender)(r#"{"zeta": ["whsec_b"], "acme": ["", "whsec_a"]}"#).unwrap();
        assert_eq!(
            (sender.source.as_deref(), sender.secret.as_str()),
            (Some("acme"), "whsec_a")
        );
        let error = (std.sender)("whsec_not-a-map").err().unwrap();
        assert!(!error.contains("not-a-map"), "{error}");
    }

    #[test]
    fn a_setting_is_set_by_its_camel_case_parameter() {
        assert_eq!(
            setting_parameter("COINME_SIGNATURE_HEADER"),
            "CoinmeSignatureHeader"
        );
        assert_eq!(setting_parameter("X"), "X");
    }

    #[test]
    fn routes_match_their_paths_only() {
        let (_, optty) = Provider::route("optty").unwrap();
        assert_eq!(optty.param_name(), Some("token"));
        assert_eq!(optty.matches("/webhooks/optty/t1"), Some(Some("t1")));
        assert_eq!(optty.matches("/webhooks/optty/"), None);
        assert_eq!(optty.matches("/webhooks/optty/a/b"), None);
        assert_eq!(optty.path(Some("t1")), "/webhooks/optty/t1");
        let (_, octopus) = Provider::route("octopus").unwrap();
        assert_eq!(octopus.matches("/webhooks/octopus/"), Some(None));
        assert_eq!(octopus.matches("/webhooks/octopusx"), None);
        assert_eq!(octopus.method(), "ANY");
    }

    #[test]
    fn names_and_secret_prefixes_are_unique() {
        let mut names: Vec<_> = Provider::routes().map(|(_, r)| r.name).collect();
        let mut prefixes: Vec<_> = Provider::routes()
            .map(|(_, r)| r.secrets.env_prefix)
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        prefixes.sort_unstable();
        prefixes.dedup();
        assert_eq!((names.len(), prefixes.len()), (count, count));
    }
}
