//! The providers as the CLI knows them: their routes, their test secrets, how to sign for
//! them, and the receivers `hookline serve` runs for all of them at once.

use std::sync::Arc;

use clap::{Args, ValueEnum};
use hookline::config::coinme_options;
use hookline::dev_defaults::{
    COINME_TEST_SECRET, OCTOPUS_TEST_SECRET, OPTTY_TEST_TOKEN, OWLPAY_HARBOR_TEST_SECRET,
    OWLPAY_TEST_SECRET, STD_TEST_SECRET, STD_TEST_SOURCE,
};
use hookline::providers::Route;
use hookline::providers::coinme::{self, CoinmeScheme};
use hookline::providers::octopus::{self, OctopusScheme};
use hookline::providers::optty::OpttyScheme;
use hookline::providers::owlpay::{self, OwlPayScheme, Variant};
use hookline::providers::standard_webhooks::{self, StandardWebhooksScheme};
use hookline::queue::Queue;
use hookline::receiver::{Receiver, Reply};
use hookline::signature::{Secret, SecretSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Provider {
    Octopus,
    Coinme,
    Owlpay,
    OwlpayHarbor,
    Optty,
    /// A Standard Webhooks sender; its source name is `--source`.
    Std,
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

impl Provider {
    /// The test secret (Optty: path token) the samples are signed with.
    pub fn test_secret(self) -> &'static str {
        match self {
            Self::Octopus => OCTOPUS_TEST_SECRET,
            Self::Coinme => COINME_TEST_SECRET,
            Self::Owlpay => OWLPAY_TEST_SECRET,
            Self::OwlpayHarbor => OWLPAY_HARBOR_TEST_SECRET,
            Self::Optty => OPTTY_TEST_TOKEN,
            Self::Std => STD_TEST_SECRET,
        }
    }

    pub fn route_key(self) -> &'static str {
        match self {
            Self::Octopus => "ANY /webhooks/octopus",
            Self::Coinme => "POST /webhooks/coinme",
            Self::Owlpay => "POST /webhooks/owlpay",
            Self::OwlpayHarbor => "POST /webhooks/owlpay-harbor",
            Self::Optty => "POST /webhooks/optty/{token}",
            Self::Std => "POST /webhooks/std/{source}",
        }
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
        let key = Secret::new(secret.as_bytes());
        let owned = |headers: Vec<(&str, String)>| {
            headers
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect::<Vec<_>>()
        };
        let (path, path_parameter, headers) = match self {
            Self::Octopus => (
                "/webhooks/octopus".to_string(),
                None,
                owned(octopus::signed_headers(&key, body, timestamp).map_err(|e| e.to_string())?),
            ),
            Self::Coinme => {
                let options =
                    coinme_options(|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
                (
                    "/webhooks/coinme".to_string(),
                    None,
                    coinme::signed_headers(&key, body, &options),
                )
            }
            Self::Owlpay | Self::OwlpayHarbor => {
                let variant = if self == Self::Owlpay {
                    Variant::OwlPay
                } else {
                    Variant::Harbor
                };
                let path = format!("/webhooks/{}", variant.provider());
                let headers = owned(owlpay::signed_headers(variant, &key, body, timestamp));
                (path, None, headers)
            }
            Self::Optty => (
                format!("/webhooks/optty/{secret}"),
                Some(("token", secret.to_string())),
                vec![("content-type".into(), "application/json".into())],
            ),
            Self::Std => {
                let secrets =
                    standard_webhooks::parse_secrets(secret).map_err(|e| e.to_string())?;
                let id = message_id(body);
                let mut headers = owned(standard_webhooks::signed_headers(
                    &secrets, &id, timestamp, body,
                ));
                headers.insert(0, ("content-type".into(), "application/json".into()));
                (
                    format!("/webhooks/std/{source}"),
                    Some(("source", source.to_string())),
                    headers,
                )
            }
        };
        Ok(SignedRequest {
            path,
            route_key: self.route_key(),
            path_parameter,
            headers,
        })
    }
}

impl Provider {
    /// What the provider's receiver makes of `body` signed with its test secret at `timestamp`:
    /// the same checks the Lambda runs, so a sample that passes here passes there.
    pub fn verify_sample(
        self,
        source: &str,
        body: &[u8],
        timestamp: i64,
    ) -> Result<hookline::providers::VerifiedEvent, String> {
        use hookline::providers::{Route, WebhookScheme};
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
        let secrets = LocalSecrets::default();
        let result =
            match self {
                Self::Octopus => Receivers::scheme_octopus(&secrets)?
                    .verify_routed(&route, &headers, body, timestamp),
                Self::Coinme => Receivers::scheme_coinme(&secrets)?
                    .verify_routed(&route, &headers, body, timestamp),
                Self::Owlpay | Self::OwlpayHarbor => Receivers::scheme_owlpay(&secrets)?
                    .verify_routed(&route, &headers, body, timestamp),
                Self::Optty => Receivers::scheme_optty(&secrets)?
                    .verify_routed(&route, &headers, body, timestamp),
                Self::Std => Receivers::scheme_std(&secrets)?
                    .verify_routed(&route, &headers, body, timestamp),
            };
        result.map_err(|e| e.to_string())
    }
}

/// A Standard Webhooks message id for a payload: its own `id` when it has one, else one derived
/// from its bytes, so signing the same file twice gives the same id (as a retry would).
fn message_id(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("id").and_then(|id| id.as_str().map(str::to_string)))
        .unwrap_or_else(|| format!("msg_{}", &hookline::idempotency::body_sha256(body)[..24]))
}

/// The active secrets of every receiver `hookline serve` runs; the same variables as the
/// Lambdas read, defaulting to the published test secrets.
#[derive(Args, Clone)]
pub struct LocalSecrets {
    #[arg(long, env = "OCTOPUS_WEBHOOK_SECRETS", default_value = OCTOPUS_TEST_SECRET, hide_env_values = true, hide_default_value = true)]
    octopus_secrets: String,
    #[arg(long, env = "COINME_WEBHOOK_SECRETS", default_value = COINME_TEST_SECRET, hide_env_values = true, hide_default_value = true)]
    coinme_secrets: String,
    #[arg(long, env = "OWLPAY_WEBHOOK_SECRETS", default_value = OWLPAY_TEST_SECRET, hide_env_values = true, hide_default_value = true)]
    owlpay_secrets: String,
    #[arg(long, env = "OWLPAY_HARBOR_WEBHOOK_SECRETS", default_value = OWLPAY_HARBOR_TEST_SECRET, hide_env_values = true, hide_default_value = true)]
    owlpay_harbor_secrets: String,
    /// Optty path tokens.
    #[arg(long, env = "OPTTY_WEBHOOK_SECRETS", default_value = OPTTY_TEST_TOKEN, hide_env_values = true, hide_default_value = true)]
    optty_secrets: String,
    /// Standard Webhooks sources and secrets: `{"source": ["whsec_..."]}`.
    #[arg(long, env = "STD_WEBHOOK_SECRETS", default_value_t = default_std_sources(), hide_env_values = true, hide_default_value = true)]
    std_secrets: String,
}

impl Default for LocalSecrets {
    fn default() -> Self {
        Self {
            octopus_secrets: OCTOPUS_TEST_SECRET.into(),
            coinme_secrets: COINME_TEST_SECRET.into(),
            owlpay_secrets: OWLPAY_TEST_SECRET.into(),
            owlpay_harbor_secrets: OWLPAY_HARBOR_TEST_SECRET.into(),
            optty_secrets: OPTTY_TEST_TOKEN.into(),
            std_secrets: default_std_sources(),
        }
    }
}

fn default_std_sources() -> String {
    format!(r#"{{"{STD_TEST_SOURCE}": ["{STD_TEST_SECRET}"]}}"#)
}

fn set(list: &str, flag: &str) -> Result<SecretSet, String> {
    SecretSet::parse(list).map_err(|e| format!("--{flag}: {e}"))
}

/// One receiver per provider, all sending to clones of one queue.
pub struct Receivers<Q> {
    pub octopus: Arc<Receiver<OctopusScheme, Q>>,
    pub coinme: Arc<Receiver<CoinmeScheme, Q>>,
    pub owlpay: Arc<Receiver<OwlPayScheme, Q>>,
    pub optty: Arc<Receiver<OpttyScheme, Q>>,
    pub std: Arc<Receiver<StandardWebhooksScheme, Q>>,
}

impl Receivers<()> {
    fn scheme_octopus(secrets: &LocalSecrets) -> Result<OctopusScheme, String> {
        Ok(OctopusScheme::new(set(
            &secrets.octopus_secrets,
            "octopus-secrets",
        )?))
    }

    fn scheme_coinme(secrets: &LocalSecrets) -> Result<CoinmeScheme, String> {
        Ok(CoinmeScheme::new(
            set(&secrets.coinme_secrets, "coinme-secrets")?,
            coinme_options(|name| std::env::var(name).ok()).map_err(|e| e.to_string())?,
        ))
    }

    fn scheme_owlpay(secrets: &LocalSecrets) -> Result<OwlPayScheme, String> {
        Ok(OwlPayScheme::new(
            set(&secrets.owlpay_secrets, "owlpay-secrets")?,
            Some(set(
                &secrets.owlpay_harbor_secrets,
                "owlpay-harbor-secrets",
            )?),
        ))
    }

    fn scheme_optty(secrets: &LocalSecrets) -> Result<OpttyScheme, String> {
        Ok(OpttyScheme::new(set(
            &secrets.optty_secrets,
            "optty-secrets",
        )?))
    }

    fn scheme_std(secrets: &LocalSecrets) -> Result<StandardWebhooksScheme, String> {
        let sources = standard_webhooks::parse_sources(&secrets.std_secrets)
            .map_err(|e| format!("--std-secrets: {e}"))?;
        Ok(StandardWebhooksScheme::new(sources))
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
        let path = route.path.trim_end_matches('/');
        Some(match path {
            "/webhooks/octopus" => {
                self.octopus
                    .receive_routed(route, method, headers, body, now)
                    .await
            }
            "/webhooks/coinme" => {
                self.coinme
                    .receive_routed(route, method, headers, body, now)
                    .await
            }
            "/webhooks/owlpay" | "/webhooks/owlpay-harbor" => {
                self.owlpay
                    .receive_routed(route, method, headers, body, now)
                    .await
            }
            _ if path.starts_with("/webhooks/optty/") => {
                self.optty
                    .receive_routed(route, method, headers, body, now)
                    .await
            }
            _ if path.starts_with("/webhooks/std/") => {
                self.std
                    .receive_routed(route, method, headers, body, now)
                    .await
            }
            _ => return None,
        })
    }
}

impl<Q: Queue + Clone> Receivers<Q> {
    pub fn new(secrets: &LocalSecrets, queue: Q) -> Result<Self, String> {
        let receiver = |queue: &Q| queue.clone();
        Ok(Self {
            octopus: Arc::new(Receiver::new(
                Receivers::scheme_octopus(secrets)?,
                receiver(&queue),
            )),
            coinme: Arc::new(Receiver::new(
                Receivers::scheme_coinme(secrets)?,
                receiver(&queue),
            )),
            owlpay: Arc::new(Receiver::new(
                Receivers::scheme_owlpay(secrets)?,
                receiver(&queue),
            )),
            optty: Arc::new(Receiver::new(
                Receivers::scheme_optty(secrets)?,
                receiver(&queue),
            )),
            std: Arc::new(Receiver::new(Receivers::scheme_std(secrets)?, queue)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_signs_its_own_way() {
        let body = br#"{"id":"e1","type":"ORDER_TEMPLATE","uuid":"u1","event":"order.received"}"#;
        for provider in Provider::value_variants() {
            let signed = provider
                .sign(provider.test_secret(), "acme", body, 1_795_341_600)
                .unwrap_or_else(|e| panic!("{provider:?}: {e}"));
            assert!(signed.path.starts_with("/webhooks/"), "{provider:?}");
        }
        let std = Provider::Std
            .sign(STD_TEST_SECRET, "acme", body, 1)
            .unwrap();
        assert_eq!(std.path, "/webhooks/std/acme");
        assert!(
            std.headers
                .iter()
                .any(|(n, v)| n == "webhook-id" && v == "e1")
        );
    }
}
