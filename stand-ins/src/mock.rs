//! The stand-ins mounted on a wiremock server, for the integration tests: the auth endpoints
//! answer as the stand-in decides, and every other request without a live token gets the
//! provider's 401 before any test mock sees it.

use std::sync::Arc;

use wiremock::matchers::{method, path};
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::{Answer, OctopusAuth, OpttyAuth};

fn template(answer: Answer) -> ResponseTemplate {
    let mut template = ResponseTemplate::new(answer.status).set_body_json(answer.body);
    if let Some(secs) = answer.retry_after {
        template = template.insert_header("retry-after", secs.to_string().as_str());
    }
    template
}

/// Which requests are the auth endpoints' own (they need no token).
fn is_auth_path(request: &Request) -> bool {
    matches!(
        request.url.path(),
        "/auth/login" | "/auth/refresh" | "/auth/logout" | "/token"
    )
}

struct Login(Arc<OctopusAuth>);
impl Respond for Login {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        template(self.0.login(&request.body))
    }
}

struct Refresh(Arc<OctopusAuth>);
impl Respond for Refresh {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        template(self.0.refresh(&request.body))
    }
}

struct Token(Arc<OpttyAuth>);
impl Respond for Token {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        template(self.0.token(&request.body))
    }
}

/// What decides whether a request's token is live.
pub trait TokenCheck: Send + Sync {
    /// Live; counts nothing (wiremock may match a request more than once).
    fn is_live(&self, authorization: Option<&[u8]>) -> bool;
    /// Live, or the provider's 401; counted.
    fn check(&self, authorization: Option<&[u8]>) -> Result<(), Answer>;
}

impl TokenCheck for OctopusAuth {
    fn is_live(&self, authorization: Option<&[u8]>) -> bool {
        OctopusAuth::is_live(self, authorization)
    }
    fn check(&self, authorization: Option<&[u8]>) -> Result<(), Answer> {
        OctopusAuth::check(self, authorization)
    }
}

impl TokenCheck for OpttyAuth {
    fn is_live(&self, authorization: Option<&[u8]>) -> bool {
        OpttyAuth::is_live(self, authorization)
    }
    fn check(&self, authorization: Option<&[u8]>) -> Result<(), Answer> {
        OpttyAuth::check(self, authorization)
    }
}

fn authorization(request: &Request) -> Option<&[u8]> {
    request.headers.get("authorization").map(|v| v.as_bytes())
}

/// Matches an API request (not an auth endpoint's) whose token no stand-in accepts.
struct Refused(Vec<Arc<dyn TokenCheck>>);
impl Match for Refused {
    fn matches(&self, request: &Request) -> bool {
        let header = authorization(request);
        !is_auth_path(request) && !self.0.iter().any(|auth| auth.is_live(header))
    }
}

/// The first stand-in's 401 (and its count).
struct Refusal(Vec<Arc<dyn TokenCheck>>);
impl Respond for Refusal {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let header = authorization(request);
        let refused = self
            .0
            .iter()
            .map(|auth| auth.check(header))
            .find_map(Result::err);
        template(
            refused.unwrap_or_else(|| Answer::octopus_unauthorized("Invalid or expired token")),
        )
    }
}

/// Every request to `server` but the auth endpoints' must carry a token one of `auths` accepts;
/// any other gets the provider's 401 before a test's mock sees it.
pub async fn mount_guard(server: &MockServer, auths: Vec<Arc<dyn TokenCheck>>) {
    Mock::given(Refused(auths.clone()))
        .respond_with(Refusal(auths))
        .with_priority(1)
        .mount(server)
        .await;
}

/// Octopus' `/auth/login` and `/auth/refresh` on `server`.
pub async fn mount_octopus_endpoints(server: &MockServer, auth: &Arc<OctopusAuth>) {
    Mock::given(method("POST"))
        .and(path("/auth/login"))
        .respond_with(Login(Arc::clone(auth)))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/refresh"))
        .respond_with(Refresh(Arc::clone(auth)))
        .with_priority(1)
        .mount(server)
        .await;
}

/// Optty's `/token` on `server`.
pub async fn mount_optty_endpoints(server: &MockServer, auth: &Arc<OpttyAuth>) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(Token(Arc::clone(auth)))
        .with_priority(1)
        .mount(server)
        .await;
}

/// Octopus' auth endpoints on `server`, and its 401 for every other request without a live
/// access token.
pub async fn mount_octopus(server: &MockServer, auth: &Arc<OctopusAuth>) {
    mount_octopus_endpoints(server, auth).await;
    mount_guard(server, vec![Arc::clone(auth) as Arc<dyn TokenCheck>]).await;
}

/// Optty's `/token` on `server`, and a 401 for every other request without a live token.
pub async fn mount_optty(server: &MockServer, auth: &Arc<OpttyAuth>) {
    mount_optty_endpoints(server, auth).await;
    mount_guard(server, vec![Arc::clone(auth) as Arc<dyn TokenCheck>]).await;
}

/// An API endpoint answering `body` within a rolling limit of requests, and Octopus' 429 with
/// `Retry-After` beyond it ("Best Practices: Rate limits": GET 600 a minute in sandbox).
/// Clones share their window and counts.
#[derive(Clone)]
pub struct LimitedEndpoint {
    window: Arc<std::sync::Mutex<crate::RollingWindow>>,
    body: serde_json::Value,
    refused: Arc<std::sync::atomic::AtomicU64>,
}

impl LimitedEndpoint {
    pub fn new(limit: u32, window: std::time::Duration, body: serde_json::Value) -> Self {
        Self {
            window: Arc::new(std::sync::Mutex::new(crate::RollingWindow::new(
                limit, window,
            ))),
            body,
            refused: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    /// The most requests answered 200 in any one window.
    pub fn peak(&self) -> usize {
        self.window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .peak()
    }

    /// Requests answered 429.
    pub fn refused(&self) -> u64 {
        self.refused.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Respond for LimitedEndpoint {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let taken = self
            .window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .try_take(std::time::Instant::now());
        match taken {
            Ok(()) => ResponseTemplate::new(200).set_body_json(self.body.clone()),
            Err(wait) => {
                self.refused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                template(Answer::octopus_rate_limited(
                    crate::rate_limit::retry_after_secs(wait),
                ))
            }
        }
    }
}
