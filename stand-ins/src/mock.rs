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

/// A request to the API (not to an auth endpoint) that the stand-in refuses; counted as the
/// provider would count it. wiremock may evaluate a matcher more than once per request, so the
/// check is repeated in the responder, which runs once.
struct Refused<F>(F);
impl<F: Fn(Option<&[u8]>) -> bool + Send + Sync> Match for Refused<F> {
    fn matches(&self, request: &Request) -> bool {
        !is_auth_path(request)
            && !(self.0)(request.headers.get("authorization").map(|v| v.as_bytes()))
    }
}
struct Refusal<F>(F);
impl<F: Fn(Option<&[u8]>) -> Result<(), Answer> + Send + Sync> Respond for Refusal<F> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let header = request.headers.get("authorization").map(|v| v.as_bytes());
        match (self.0)(header) {
            Err(answer) => template(answer),
            // Live again between the match and the answer (cannot happen: tokens only expire
            // or are revoked); refuse anyway rather than reach no mock.
            Ok(()) => template(Answer::octopus_unauthorized("Invalid or expired token")),
        }
    }
}

/// Octopus' `/auth/login` and `/auth/refresh` on `server`, and its 401 for every other
/// request without a live access token.
pub async fn mount_octopus(server: &MockServer, auth: &Arc<OctopusAuth>) {
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
    let peek = Arc::clone(auth);
    let answer = Arc::clone(auth);
    Mock::given(Refused(move |h: Option<&[u8]>| peek.is_live(h)))
        .respond_with(Refusal(move |h: Option<&[u8]>| answer.check(h)))
        .with_priority(1)
        .mount(server)
        .await;
}

/// Optty's `/token` on `server`, and its 401 for every other request without a live token.
pub async fn mount_optty(server: &MockServer, auth: &Arc<OpttyAuth>) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(Token(Arc::clone(auth)))
        .with_priority(1)
        .mount(server)
        .await;
    let peek = Arc::clone(auth);
    let answer = Arc::clone(auth);
    Mock::given(Refused(move |h: Option<&[u8]>| peek.is_live(h)))
        .respond_with(Refusal(move |h: Option<&[u8]>| answer.check(h)))
        .with_priority(1)
        .mount(server)
        .await;
}
