//! The published test secrets vouch for nothing: they are in this repository, so anyone can sign
//! with them. `hookline replay` verifies each request (or archived event) before it queues it,
//! and the processor never verifies again; so replay refuses a verification by a published test
//! secret unless the queue is a local emulator's. With `--stack` it uses the secrets the stack's
//! receivers hold; otherwise the route's own secrets must be given (`--{route}-secrets` or the
//! variable the Lambda reads).

use hookline::aws::SdkConfig;
use hookline::providers::WebhookRoute;

use crate::provider_args::LocalSecrets;

/// Where replayed events go, as far as trusting the published secrets is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A local emulator (an endpoint on loopback), or nothing is sent (a dry run).
    Local,
    /// A real queue, with the secrets a stack's receivers hold (`--stack`).
    StackSecrets,
    /// A real queue, with secrets from flags or the environment.
    GivenSecrets,
}

impl Target {
    pub fn of(config: &SdkConfig, dry_run: bool, from_stack: bool) -> Self {
        if dry_run || config.endpoint_url().is_some_and(is_loopback) {
            Self::Local
        } else if from_stack {
            Self::StackSecrets
        } else {
            Self::GivenSecrets
        }
    }

    /// Refuses when `routes` (those whose verification vouches for what is sent) are verified
    /// with a published test secret and the target is not local.
    pub fn check<'a>(
        self,
        secrets: &LocalSecrets,
        routes: impl IntoIterator<Item = &'a WebhookRoute>,
    ) -> Result<(), String> {
        if self == Self::Local {
            return Ok(());
        }
        let published = secrets.published_in_use(routes);
        if published.is_empty() {
            return Ok(());
        }
        let flags: Vec<String> = published.iter().map(|r| format!("--{r}-secrets")).collect();
        Err(format!(
            "refusing to replay into a real queue with the published test secret of {}: anyone can sign with it, and the processor does not verify again. Give --stack NAME (the secrets its receivers hold) or the route's own secrets ({}, or the variable the Lambda reads); a local emulator (--endpoint-url http://127.0.0.1:PORT) accepts the test secrets",
            published.join(", "),
            flags.join(", ")
        ))
    }
}

/// Whether `url`'s host is the loopback interface.
pub fn is_loopback(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    match uri.host() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookline::providers::Provider;

    #[test]
    fn loopback_hosts_are_local_and_others_are_not() {
        for url in [
            "http://127.0.0.1:5000",
            "http://localhost:4566/",
            "http://[::1]:9",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "https://sqs.us-east-1.amazonaws.com",
            "http://127.0.0.1.example.com",
            "http://10.0.0.1",
            "not a url",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }

    #[test]
    fn a_real_queue_refuses_the_published_secrets_of_the_routes_used() {
        let routes: Vec<_> = Provider::routes().map(|(_, r)| r).collect();
        let octopus = routes
            .iter()
            .find(|r| r.name == "octopus")
            .copied()
            .unwrap();
        let defaults = LocalSecrets::default();
        let refused = Target::GivenSecrets
            .check(&defaults, [octopus])
            .unwrap_err();
        assert!(refused.contains("--octopus-secrets"), "{refused}");
        assert!(Target::StackSecrets.check(&defaults, [octopus]).is_err());
        assert!(
            Target::Local
                .check(&defaults, routes.iter().copied())
                .is_ok()
        );
        let mut own = LocalSecrets::default();
        own.set(octopus.secrets.env_prefix, "a-secret-of-our-own".into());
        assert!(Target::GivenSecrets.check(&own, [octopus]).is_ok());
        // Another route's published secret does not matter when none of its requests is sent.
        assert!(Target::GivenSecrets.check(&own, []).is_ok());
    }
}
