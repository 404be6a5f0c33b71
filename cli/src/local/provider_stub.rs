//! `hookline provider-stub`: stand-in order APIs on 127.0.0.1 for every provider with one (the
//! registry's `stub_routes`), serving the sample orders in `events/provider-api/`, so the
//! processor's follow-up fetches work locally. Each API logs clients in as its provider
//! documents it (the stand-ins of `hookline-stand-ins`: Octopus `/auth/login` and
//! `/auth/refresh`, Optty's `/token`), with the credentials the processor is given (e.g.
//! `OCTOPUS_API_KEY`) or the published test ones, and answers its documented 401 to any request
//! without a live token.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Args;
use hookline::dev_defaults::PROVIDER_STUB_ADDR;

use hookline::api_auth::AuthFlow;
use hookline_stand_ins::{
    Answer, OctopusAuth, OctopusAuthConfig, OpttyAuth, OpttyAuthConfig, http as auth_http,
};

use crate::provider_args::LocalApis;

#[derive(Args, Clone)]
pub struct ProviderStubArgs {
    #[arg(long, default_value = PROVIDER_STUB_ADDR)]
    pub listen: SocketAddr,
    /// Folder with one sub-folder of `{id}.json` orders per stand-in route (e.g. `orders/`).
    #[arg(long, default_value_os_t = default_orders_dir())]
    pub orders_dir: PathBuf,
    /// The credentials the stand-ins accept (`--octopus-api-key`, `--optty-client-id`, ...).
    #[command(flatten)]
    pub apis: LocalApis,
    /// Lifetime of the access tokens the stand-ins issue (default: the documented 1 hour for
    /// Octopus, 24 hours for Optty); short ones show renewals happening.
    #[arg(long, value_name = "SECS")]
    pub token_lifetime_secs: Option<u64>,
    /// Enforce Octopus' production login limits (10 logins, 20 refreshes a minute) instead of
    /// the sandbox's (30 and 30).
    #[arg(long)]
    pub production_limits: bool,
    /// Answer an order id that has no file with this order's file (of the same folder), under
    /// the asked id (load tests over many orders). The folder's files are then read once and
    /// kept, so the stand-in costs a load test no file system work per request.
    #[arg(long)]
    pub any_voucher_as: Option<u64>,
}

/// `events/provider-api` of the checkout it runs in (as `--help` shows it); from elsewhere, the
/// one of the checkout it was built from.
pub fn default_orders_dir() -> PathBuf {
    let relative = PathBuf::from("events/provider-api");
    if relative.is_dir() {
        return relative;
    }
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/provider-api"
    ))
}

struct Stub {
    /// When each timeline order was first asked for: its clock starts then.
    first_asked: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    orders_dir: PathBuf,
    any_voucher_as: Option<u64>,
    /// Files read so far, absent ones too (load tests only: `any_voucher_as`).
    read_once: std::sync::Mutex<std::collections::HashMap<PathBuf, Option<Arc<[u8]>>>>,
}

/// The login stand-in of one provider API.
#[derive(Clone)]
enum StubAuth {
    Octopus(Arc<OctopusAuth>),
    Optty(Arc<OpttyAuth>),
}

impl StubAuth {
    fn check(&self, headers: &HeaderMap) -> Result<(), Answer> {
        let authorization = headers.get("authorization").map(|v| v.as_bytes());
        match self {
            Self::Octopus(auth) => auth.check(authorization),
            Self::Optty(auth) => auth.check(authorization),
        }
    }
}

/// One stand-in route: its folder and who decides which tokens it accepts.
#[derive(Clone)]
struct Served {
    stub: Arc<Stub>,
    folder: &'static str,
    auth: StubAuth,
}

pub async fn run(args: ProviderStubArgs) -> Result<(), crate::failure::Failure> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    Ok(serve(listener, args).await?)
}

/// Serves the stub on a bound listener until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    args: ProviderStubArgs,
) -> Result<(), String> {
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(
        "stand-in provider APIs on http://{bound} serving {}",
        args.orders_dir.display()
    );
    let stub = Arc::new(Stub {
        first_asked: std::sync::Mutex::default(),
        orders_dir: args.orders_dir,
        any_voucher_as: args.any_voucher_as,
        read_once: std::sync::Mutex::default(),
    });
    let mut app = Router::new();
    let lifetime = args.token_lifetime_secs.map(std::time::Duration::from_secs);
    for resolved in args.apis.resolved(None) {
        let Some(api) = &resolved.provider.spec().order_api else {
            continue;
        };
        let [id, secret] = &resolved.credentials;
        let auth = match api.auth.flow {
            AuthFlow::OctopusJwt => {
                let mut config = match args.production_limits {
                    true => OctopusAuthConfig::production(id, secret),
                    false => OctopusAuthConfig::sandbox(id, secret),
                };
                config.access_lifetime = lifetime.unwrap_or(config.access_lifetime);
                let auth = Arc::new(OctopusAuth::new(config));
                app = app.merge(auth_http::octopus_routes(Arc::clone(&auth)));
                StubAuth::Octopus(auth)
            }
            AuthFlow::ClientCredentials { .. } => {
                let mut config = OpttyAuthConfig::new(id, secret);
                config.lifetime = lifetime.unwrap_or(config.lifetime);
                let auth = Arc::new(OpttyAuth::new(config));
                app = app.merge(auth_http::optty_routes(Arc::clone(&auth)));
                StubAuth::Optty(auth)
            }
        };
        for (path, folder) in api.stub_routes {
            let served = Served {
                stub: Arc::clone(&stub),
                folder,
                auth: auth.clone(),
            };
            app = match path.contains("{id}") {
                true => app.route(path, get(order).with_state(served)),
                // A list: the `wallet_id` query names its file, `wallet-{id}`.
                false => app.route(path, get(listing).with_state(served)),
            };
        }
    }
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("provider stub failed: {e}"))
}

async fn order(
    State(served): State<Served>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = served.auth.check(&headers) {
        return refused.into_response();
    }
    served.stub.answer(served.folder, &id)
}

/// A list (wallet transactions) by its `wallet_id` query: `{folder}/wallet-{id}[.timeline].json`,
/// answered as one page.
async fn listing(
    State(served): State<Served>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let wallet = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("wallet_id="))
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    let Some(wallet) = wallet else {
        return (StatusCode::BAD_REQUEST, r#"{"error":"wallet_id required"}"#).into_response();
    };
    if let Err(refused) = served.auth.check(&headers) {
        return refused.into_response();
    }
    let mut response = served
        .stub
        .answer(served.folder, &format!("wallet-{wallet}"));
    response
        .headers_mut()
        .insert("x-has-more", axum::http::HeaderValue::from_static("false"));
    response
}

/// One step of an order that changes over time (`{id}.timeline.json`).
#[derive(serde::Deserialize)]
struct Step {
    /// Seconds after the first request for the order.
    after_secs: u64,
    order: serde_json::Value,
}

impl Stub {
    /// A file of the orders folder; in a load test (`any_voucher_as`), read once and kept.
    fn read(&self, path: PathBuf) -> Option<Arc<[u8]>> {
        if self.any_voucher_as.is_none() {
            return std::fs::read(path).ok().map(Arc::from);
        }
        let mut read = self
            .read_once
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        read.entry(path)
            .or_insert_with_key(|path| std::fs::read(path).ok().map(Arc::from))
            .clone()
    }

    /// The order as it stands now, for an order with a timeline: the last step whose time has
    /// come since the order was first asked for.
    fn timeline(&self, kind: &str, id: &str) -> Option<Vec<u8>> {
        let text = self.read(
            self.orders_dir
                .join(kind)
                .join(format!("{id}.timeline.json")),
        )?;
        let steps: Vec<Step> = serde_json::from_slice(&text).ok()?;
        let started = *self
            .first_asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(format!("{kind}/{id}"))
            .or_insert_with(std::time::Instant::now);
        let elapsed = started.elapsed().as_secs();
        let step = steps
            .iter()
            .rev()
            .find(|s| s.after_secs <= elapsed)
            .or(steps.first())?;
        Some(
            serde_json::json!({ "data": step.order })
                .to_string()
                .into_bytes(),
        )
    }

    /// The order `id` of folder `kind`; the caller has checked the token.
    fn answer(&self, kind: &str, id: &str) -> Response {
        let valid = !id.is_empty()
            && !id.starts_with('.')
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if !valid {
            return (StatusCode::BAD_REQUEST, r#"{"error":"invalid id"}"#).into_response();
        }
        let file = |id: &str| self.read(self.orders_dir.join(kind).join(format!("{id}.json")));
        if let Some(body) = self.timeline(kind, id) {
            return ([("content-type", "application/json")], body).into_response();
        }
        let body = match (file(id), self.any_voucher_as) {
            (Some(body), _) => Some(body.to_vec()),
            (None, Some(model)) => file(&model.to_string()).map(|body| {
                String::from_utf8_lossy(&body)
                    .replacen(&format!("\"id\":{model}"), &format!("\"id\":{id}"), 1)
                    .into_bytes()
            }),
            _ => None,
        };
        match body {
            Some(body) => ([("content-type", "application/json")], body).into_response(),
            None => (StatusCode::NOT_FOUND, r#"{"error":"order not found"}"#).into_response(),
        }
    }
}
