//! The stand-ins' auth endpoints over axum, for `hookline provider-stub`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::{Answer, OctopusAuth, OpttyAuth};

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            [("content-type", "application/json")],
            self.body.to_string(),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        response
    }
}

/// `POST /auth/login`, `/auth/refresh` and `/auth/logout` of Octopus.
pub fn octopus_routes(auth: Arc<OctopusAuth>) -> Router {
    Router::new()
        .route(
            "/auth/login",
            post(|State(auth): State<Arc<OctopusAuth>>, body: Bytes| async move {
                auth.login(&body)
            }),
        )
        .route(
            "/auth/refresh",
            post(|State(auth): State<Arc<OctopusAuth>>, body: Bytes| async move {
                auth.refresh(&body)
            }),
        )
        .route(
            "/auth/logout",
            post(
                |State(auth): State<Arc<OctopusAuth>>, headers: axum::http::HeaderMap| async move {
                    match auth.check(headers.get("authorization").map(|v| v.as_bytes())) {
                        Ok(()) => {
                            auth.revoke_all();
                            Answer::ok(serde_json::json!({"success": true}))
                        }
                        Err(refused) => refused,
                    }
                },
            ),
        )
        .with_state(auth)
}

/// `POST /token` of Optty's authentication host.
pub fn optty_routes(auth: Arc<OpttyAuth>) -> Router {
    Router::new()
        .route(
            "/token",
            post(
                |State(auth): State<Arc<OpttyAuth>>, body: Bytes| async move { auth.token(&body) },
            ),
        )
        .with_state(auth)
}
