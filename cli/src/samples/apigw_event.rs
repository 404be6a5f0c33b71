//! API Gateway HTTP API (payload format 2.0) request events, as Lambda receives them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::provider_args::SignedRequest;

/// A POST of `body` as `request` describes it, as API Gateway would hand it to the function.
pub fn post(request: &SignedRequest, body: &[u8], base64: bool, at: i64) -> Value {
    let path = request.path.as_str();
    let header_map: Map<String, Value> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), Value::from(value.as_str())))
        .collect();
    let (body, is_base64) = match (base64, std::str::from_utf8(body)) {
        (false, Ok(text)) => (text.to_string(), false),
        _ => (STANDARD.encode(body), true),
    };
    let time = OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            // API Gateway's request time, e.g. 22/Nov/2026:10:00:00 +0000.
            t.format(format_description!(
                "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
            ))
            .ok()
        })
        .unwrap_or_default();
    let mut event = json!({
        "version": "2.0",
        "routeKey": request.route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": header_map,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "hookline-local",
            "domainName": "hookline-local.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "hookline-local",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "hookline-sign"
            },
            "requestId": format!("sample-{at}"),
            "routeKey": request.route_key,
            "stage": "$default",
            "time": time,
            "timeEpoch": at * 1000
        },
        "body": body,
        "isBase64Encoded": is_base64
    });
    if let Some((name, value)) = &request.path_parameter {
        event["pathParameters"] = json!({ *name: value });
    }
    event
}
