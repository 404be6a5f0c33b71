//! The provider APIs' logins against stand-ins as strict as the providers' pages (Octopus
//! "Authentication", "Refresh Token", "Best Practices: Rate limits"; Optty "Create Access
//! Token"): tokens that expire within seconds here, refresh tokens revoked once used, logins
//! limited per minute, credentials rotated, and 50 containers sharing one session through
//! Secrets Manager and a lease in DynamoDB, both on moto.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hookline::api_auth::{
    AuthEndpoint, AuthFlow, AwsSessionStore, CredentialSource, Credentials, ProviderToken,
    SessionStore,
};
use hookline::order::{OrderKind, OrderRef};
use hookline::order_api::{FetchError, OrderApi, RetryPolicy};
use hookline::providers::octopus::{self, OctopusOrderClient};
use hookline::providers::optty::{self, OpttyOrderClient};
use hookline_stand_ins::{OctopusAuthConfig, OpttyAuthConfig};
use hookline_tests::provider_auth::{StandInAuth, mount_logins_with, octopus_token_in};
use hookline_tests::{capture_logs, create_table, moto, unique_name};
use serde_json::json;
use tokio::time::Instant;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        attempt_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_millis(500),
        min_attempt_time: Duration::from_millis(100),
    }
}

fn voucher(id: u64) -> OrderRef {
    OrderRef {
        provider: "octopus".into(),
        kind: OrderKind::Voucher,
        order_id: id.to_string(),
    }
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

/// An Octopus API serving every voucher order, behind the stand-in's logins with `config`.
async fn octopus_api(config: OctopusAuthConfig) -> (MockServer, StandInAuth) {
    let server = MockServer::start().await;
    let auth = mount_logins_with(
        &server,
        config,
        OpttyAuthConfig::new(optty::API_TEST_CLIENT_ID, optty::API_TEST_CLIENT_SECRET),
    )
    .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/v1/orders/\d+$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"id": 1, "status": "DELIVERED"}})),
        )
        .mount(&server)
        .await;
    (server, auth)
}

fn short_lived(access: Duration) -> OctopusAuthConfig {
    OctopusAuthConfig {
        access_lifetime: access,
        ..OctopusAuthConfig::production(octopus::API_TEST_KEY, octopus::API_TEST_SECRET)
    }
}

/// Fetches one order every `every` until `run` has passed; every fetch must succeed.
async fn fetch_for(client: &OctopusOrderClient, run: Duration, every: Duration) -> usize {
    let end = Instant::now() + run;
    let mut fetched = 0;
    while Instant::now() < end {
        client
            .fetch(&voucher(7), deadline())
            .await
            .unwrap_or_else(|e| panic!("fetch {fetched} failed: {e}"));
        fetched += 1;
        tokio::time::sleep(every).await;
    }
    fetched
}

#[tokio::test]
async fn four_token_expiries_pass_with_one_login_refreshes_before_expiry_and_no_401() {
    let logs = capture_logs();
    let (api, auth) = octopus_api(short_lived(Duration::from_secs(2))).await;
    let client = OctopusOrderClient::new(
        &api.uri(),
        octopus_token_in(&api.uri(), SessionStore::memory()),
        policy(),
    )
    .unwrap();
    // 9 s with 2-second tokens: more than four expiries.
    let fetched = fetch_for(&client, Duration::from_secs(9), Duration::from_millis(50)).await;
    let counts = auth.octopus.counts();
    assert_eq!(
        counts.unauthorized, 0,
        "no request ever carried an expired token"
    );
    assert_eq!(counts.logins, 1, "one login, then refreshes");
    assert!(
        (4..=6).contains(&counts.refreshes),
        "renewed once per lifetime, before it ran out: {counts:?}"
    );
    assert!(fetched > 50, "{fetched}");
    let text = logs.text();
    for token in auth.octopus.issued_tokens() {
        assert!(!text.contains(&token), "a token reached the logs");
    }
    assert!(!text.contains(octopus::API_TEST_SECRET));
}

#[tokio::test]
async fn concurrent_fetches_of_a_cold_container_log_in_once() {
    let (api, auth) = octopus_api(short_lived(Duration::from_secs(60))).await;
    let client = OctopusOrderClient::new(
        &api.uri(),
        octopus_token_in(&api.uri(), SessionStore::memory()),
        policy(),
    )
    .unwrap();
    let fetches = (0..20).map(|i| {
        let client = client.clone();
        async move { client.fetch(&voucher(i + 1), deadline()).await }
    });
    for result in futures::future::join_all(fetches).await {
        result.unwrap();
    }
    assert_eq!(auth.octopus.counts().logins, 1, "single flight");
}

#[tokio::test]
async fn a_revoked_refresh_token_falls_back_to_a_login() {
    let (api, auth) = octopus_api(short_lived(Duration::from_secs(2))).await;
    let sessions = SessionStore::memory();
    let client = OctopusOrderClient::new(
        &api.uri(),
        octopus_token_in(&api.uri(), sessions.clone()),
        policy(),
    )
    .unwrap();
    client.fetch(&voucher(1), deadline()).await.unwrap();
    // Someone else uses the stored refresh token (a container that died before sharing what it
    // got): the stand-in revokes it, as Octopus does.
    let stored = sessions.read().await.unwrap().unwrap();
    let body = json!({"refresh_token": stored.refresh_token}).to_string();
    assert_eq!(auth.octopus.refresh(body.as_bytes()).status, 200);
    assert_eq!(
        auth.octopus.refresh(body.as_bytes()).status,
        401,
        "a refresh token used twice is refused"
    );
    // Past the renewal point: hookline's refresh is refused, and it logs in instead.
    tokio::time::sleep(Duration::from_millis(1900)).await;
    client.fetch(&voucher(2), deadline()).await.unwrap();
    let counts = auth.octopus.counts();
    assert_eq!(
        counts.bad_refresh_tokens, 2,
        "ours and the test's second use"
    );
    assert_eq!(counts.logins, 2, "the first, then the fallback");
    assert_eq!(counts.unauthorized, 0);
}

#[tokio::test]
async fn a_401_logs_in_again_once_and_retries() {
    let (api, auth) = octopus_api(short_lived(Duration::from_secs(3600))).await;
    let client = OctopusOrderClient::new(
        &api.uri(),
        octopus_token_in(&api.uri(), SessionStore::memory()),
        policy(),
    )
    .unwrap();
    client.fetch(&voucher(1), deadline()).await.unwrap();
    // `POST /auth/logout` elsewhere: every token of the client revoked.
    auth.octopus.revoke_all();
    client.fetch(&voucher(2), deadline()).await.unwrap();
    let counts = auth.octopus.counts();
    assert_eq!((counts.unauthorized, counts.logins), (1, 2), "{counts:?}");
}

#[tokio::test]
async fn refused_credentials_fail_the_fetch_with_a_clear_error_and_no_loop() {
    let (api, auth) = octopus_api(short_lived(Duration::from_secs(3600))).await;
    let credentials = Credentials::new(octopus::API_TEST_KEY, "not-the-secret").unwrap();
    let token = ProviderToken::new(
        "octopus",
        AuthEndpoint::new(AuthFlow::OctopusJwt, &api.uri()).unwrap(),
        CredentialSource::fixed(credentials),
        SessionStore::memory(),
        None,
    );
    let client = OctopusOrderClient::new(&api.uri(), token, policy()).unwrap();
    let error = client.fetch(&voucher(1), deadline()).await.unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::Auth(hookline::api_auth::AuthError::BadCredentials { status: 401 })
        ),
        "{error:?}"
    );
    assert!(!error.to_string().contains("not-the-secret"));
    assert_eq!(auth.octopus.counts().bad_credentials, 1);
}

#[tokio::test]
async fn credentials_rotated_in_secrets_manager_are_read_again_when_refused() {
    let (api, auth) = octopus_api(short_lived(Duration::from_secs(3600))).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&moto().sdk_config().await);
    let name = unique_name("hookline/octopus-api-credentials");
    let credentials_json =
        |key: &str, secret: &str| json!({"api_key": key, "api_secret": secret}).to_string();
    secrets
        .create_secret()
        .name(&name)
        .secret_string(credentials_json(
            octopus::API_TEST_KEY,
            octopus::API_TEST_SECRET,
        ))
        .send()
        .await
        .unwrap();
    // A long interval: only the refusal makes hookline read them again.
    let source =
        CredentialSource::from_secrets_manager(secrets.clone(), &name, Duration::from_secs(3600))
            .await
            .unwrap();
    let token = ProviderToken::new(
        "octopus",
        AuthEndpoint::new(AuthFlow::OctopusJwt, &api.uri()).unwrap(),
        source,
        SessionStore::memory(),
        None,
    );
    let client = OctopusOrderClient::new(&api.uri(), token, policy()).unwrap();
    client.fetch(&voucher(1), deadline()).await.unwrap();
    // Mid-run: new credentials in the dashboard and in Secrets Manager, every token revoked.
    auth.octopus
        .rotate_credentials("rotated-key", "rotated-secret");
    secrets
        .put_secret_value()
        .secret_id(&name)
        .secret_string(credentials_json("rotated-key", "rotated-secret"))
        .send()
        .await
        .unwrap();
    auth.octopus.revoke_all();
    client.fetch(&voucher(2), deadline()).await.unwrap();
    let counts = auth.octopus.counts();
    assert_eq!(
        counts.bad_credentials, 1,
        "the old credentials once, then the new"
    );
    assert_eq!(counts.logins, 2);
}

#[tokio::test]
async fn optty_tokens_come_from_client_credentials_and_are_renewed_before_expiry() {
    let server = MockServer::start().await;
    let auth = mount_logins_with(
        &server,
        OctopusAuthConfig::sandbox(octopus::API_TEST_KEY, octopus::API_TEST_SECRET),
        OpttyAuthConfig {
            lifetime: Duration::from_secs(2),
            ..OpttyAuthConfig::new(optty::API_TEST_CLIENT_ID, optty::API_TEST_CLIENT_SECRET)
        },
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/orders/ord-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"orderReference": "ord-1"})))
        .mount(&server)
        .await;
    let client = OpttyOrderClient::new(
        &server.uri(),
        hookline_tests::optty_token(&server.uri()),
        policy(),
    )
    .unwrap();
    let order = OrderRef {
        provider: "optty".into(),
        kind: OrderKind::Order,
        order_id: "ord-1".into(),
    };
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        client.fetch(&order, deadline()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let counts = auth.optty.counts();
    assert_eq!(counts.unauthorized, 0);
    assert!((2..=4).contains(&counts.issued), "{counts:?}");
}

/// What one container of the scale-out did.
struct Container {
    client: OctopusOrderClient,
}

#[tokio::test]
async fn fifty_containers_share_one_session_within_the_production_login_limits() {
    let logs = capture_logs();
    // Production limits (10 logins, 20 refreshes a minute) and 3-second tokens: 50 containers
    // logging in or refreshing each on their own would be refused within the first second.
    let (api, auth) = octopus_api(short_lived(Duration::from_secs(3))).await;
    let aws = moto().sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let table = create_table(&dynamodb).await;
    let session_secret = unique_name("hookline/octopus-api-session");
    // As the template creates it: no session yet.
    secrets
        .create_secret()
        .name(&session_secret)
        .secret_string("{}")
        .send()
        .await
        .unwrap();
    let containers: Vec<Container> = (0..50)
        .map(|_| {
            let store = SessionStore::Aws(AwsSessionStore {
                secrets: secrets.clone(),
                session_secret_id: session_secret.clone(),
                dynamodb: dynamodb.clone(),
                table: table.clone(),
                provider: "octopus",
            });
            Container {
                client: OctopusOrderClient::new(
                    &api.uri(),
                    octopus_token_in(&api.uri(), store),
                    policy(),
                )
                .unwrap(),
            }
        })
        .collect();
    let fetched = Arc::new(AtomicUsize::new(0));
    let runs = containers.iter().map(|container| {
        let fetched = Arc::clone(&fetched);
        async move {
            let end = Instant::now() + Duration::from_secs(10);
            while Instant::now() < end {
                container
                    .client
                    .fetch(&voucher(9), deadline())
                    .await
                    .unwrap_or_else(|e| panic!("a container's fetch failed: {e}"));
                fetched.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    });
    futures::future::join_all(runs).await;
    let counts = auth.octopus.counts();
    hookline_tests::report_figure(
        "auth-scale-out",
        &format!(
            "auth scale-out: 50 containers, 10 s, 3-second tokens: {} fetches, {} login(s), {} refreshes, {} refused (429), {} API 401s",
            fetched.load(Ordering::Relaxed),
            counts.logins,
            counts.refreshes,
            counts.rate_limited,
            counts.unauthorized
        ),
    );
    assert_eq!(
        counts.rate_limited, 0,
        "never beyond the login or refresh limit"
    );
    assert_eq!(counts.logins, 1, "one login for all 50");
    // One refresh per token lifetime, shared by all 50: about three in 10 s of 3-second
    // tokens, fewer when the machine is slow (the first login then comes later); never one per
    // container. The bound is on sharing, not on timing.
    assert!(
        (1..=5).contains(&counts.refreshes),
        "one refresh per lifetime: {counts:?}"
    );
    assert_eq!(counts.unauthorized, 0, "no container sent an expired token");
    assert_eq!(counts.bad_refresh_tokens, 0, "no refresh token used twice");
    // Neither the table nor the logs hold a token: only the lease's holder and time.
    let items = hookline_tests::table_items(&dynamodb, &table).await;
    let text = logs.text();
    for token in auth.octopus.issued_tokens() {
        assert!(!text.contains(&token), "a token reached the logs");
        assert!(
            items.iter().all(|item| !item.contains(&token)),
            "a token reached the table"
        );
    }
}
