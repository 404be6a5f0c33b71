//! Masks the secret fields of provider data (voucher codes, PINs, claim URLs, eSIM activation
//! codes) wherever a document is shown to a person: local output, debugging.

use serde_json::Value;

/// Field names whose values are credentials, compared case-insensitively.
pub const SECRET_FIELDS: &[&str] = &[
    "code",
    "voucher_code",
    "pin",
    "pin_code",
    "claim_url",
    "redemption_url",
    "activation_code",
    "lpa",
    "lpa_string",
    "qr_code",
    "qr_code_url",
    "matching_id",
    "confirmation_code",
    "card_number",
    "security_code",
    "cvv",
];

pub const REDACTED: &str = "<redacted>";

pub fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// A copy of `value` with every secret field's value replaced by `<redacted>`, at any depth.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let shown = if is_secret_field(k) && !v.is_null() {
                        Value::from(REDACTED)
                    } else {
                        redact(v)
                    };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_codes_at_any_depth_and_keeps_the_rest() {
        let order = json!({
            "id": 1, "reference_code": "MY_ORDER_001",
            "vouchers": [{"code": "ABCD-1234", "PIN": "9876", "claim_url": "https://x/c"}],
            "esim": {"activation_code": "LPA:1$smdp$XYZ", "iccid": "8910"}
        });
        let shown = redact(&order).to_string();
        for secret in ["ABCD-1234", "9876", "https://x/c", "LPA:1$smdp$XYZ"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("MY_ORDER_001") && shown.contains("8910"));
    }
}
