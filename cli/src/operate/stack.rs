//! What a deployed stack says about itself: its outputs (URLs, names), its parameters (each
//! route's secret name, the schemes' settings), and the webhook secrets those parameters name,
//! read from Secrets Manager. For the operator commands that take `--stack`.

use std::collections::HashMap;

use hookline::aws::SdkConfig;
use hookline::providers::Provider;

use crate::failure::Failure;
use crate::provider_args::LocalSecrets;

/// A stack's outputs and parameters.
pub struct Stack {
    outputs: HashMap<String, String>,
    parameters: HashMap<String, String>,
}

impl Stack {
    /// Reads the stack `name`.
    pub async fn describe(config: &SdkConfig, name: &str) -> Result<Self, Failure> {
        let cloudformation = aws_sdk_cloudformation::Client::new(config);
        let output = cloudformation
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| Failure::aws(format!("cannot describe stack {name}"), &e))?;
        let stack = output
            .stacks()
            .first()
            .ok_or_else(|| Failure::NotFound(format!("stack {name} not found")))?;
        let outputs = stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
            .collect();
        let parameters = stack
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_string(),
                    p.parameter_value().unwrap_or_default().to_string(),
                ))
            })
            .collect();
        Ok(Self {
            outputs,
            parameters,
        })
    }

    pub fn output(&self, name: &str) -> Result<&str, String> {
        self.outputs
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("the stack has no {name} output (deployed from an older template? `sam deploy` again)"))
    }

    /// A parameter's value; `None` when unset or empty.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The webhook secrets the stack's receivers hold now, read from Secrets Manager; a route
    /// the stack does not enable keeps `fallback`'s list. Never printed.
    pub async fn webhook_secrets(
        &self,
        config: &SdkConfig,
        fallback: &LocalSecrets,
    ) -> Result<LocalSecrets, String> {
        let client = aws_sdk_secretsmanager::Client::new(config);
        let mut secrets = fallback.clone();
        for (_, route) in Provider::routes() {
            if let Some(name) = self.parameter(route.secrets.parameter) {
                secrets.set(route.secrets.env_prefix, read_secret(&client, name).await?);
            }
        }
        Ok(secrets)
    }
}

/// The secret's text; errors name the secret, never its value.
pub async fn read_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    name: &str,
) -> Result<String, String> {
    hookline::secrets_manager::read_secret(secrets, name)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_parameters_are_not_set() {
        let stack = Stack {
            outputs: HashMap::new(),
            parameters: HashMap::from([
                ("A".to_string(), " ".to_string()),
                ("B".to_string(), "hookline/b".to_string()),
            ]),
        };
        assert_eq!(stack.parameter("A"), None);
        assert_eq!(stack.parameter("B"), Some("hookline/b"));
        assert!(
            stack
                .output("WebhookApiUrl")
                .unwrap_err()
                .contains("no WebhookApiUrl output")
        );
    }
}
