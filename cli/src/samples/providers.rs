//! `hookline providers`: the provider registry as the rest of the repository reads it. The
//! template checks (`tests/template_test.py`), `events/generate.sh` and the benchmarks take the
//! providers from here, so a new provider needs no edit in them.

use std::path::PathBuf;

use clap::Args;
use hookline::providers::{Provider, setting_parameter};
use serde_json::{Map, Value, json};

#[derive(Args)]
pub struct ProvidersArgs {
    /// One line per webhook route: its name and its receiver's sample folder under `events/`.
    #[arg(long, conflicts_with = "json")]
    list: bool,
    /// Everything, as JSON (the default).
    #[arg(long)]
    json: bool,
    /// Write every receiver's block of this `sam local` variables file (`events/env.json`):
    /// its test secrets and the local emulator; other functions and settings are kept.
    #[arg(long, conflicts_with_all = ["list", "json"])]
    env_json: Option<PathBuf>,
}

/// What every receiver gets in `events/env.json` besides its secrets: the queue and the emulator
/// as `sam local` containers reach them.
const LOCAL_RECEIVER_ENV: &[(&str, &str)] = &[
    (
        "INGEST_QUEUE_URL",
        "http://host.docker.internal:5000/123456789012/hookline-ingest",
    ),
    ("AWS_ENDPOINT_URL", "http://host.docker.internal:5000"),
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_REGION", "us-east-1"),
    ("RUST_LOG", "info"),
];

pub fn run(args: ProvidersArgs) -> Result<(), crate::failure::Failure> {
    if let Some(path) = &args.env_json {
        return Ok(write_env_json(path)?);
    }
    if args.list {
        for provider in Provider::ALL {
            let spec = provider.spec();
            for route in spec.routes {
                println!("{} {}-webhook", route.name, spec.name);
            }
        }
        return Ok(());
    }
    let providers: Vec<Value> = Provider::ALL.into_iter().map(describe).collect();
    let text = serde_json::to_string_pretty(&providers).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

/// One provider as the files outside the crate name it.
fn describe(provider: Provider) -> Value {
    let spec = provider.spec();
    let template = spec.template_name;
    let routes: Vec<Value> = spec
        .routes
        .iter()
        .map(|route| {
            let secrets = route.secrets;
            json!({
                "name": route.name,
                "route_key": route.route_key,
                "method": route.method(),
                "path": route.path_template(),
                "param": route.param_name(),
                "payloads": format!("events/payloads/{}", route.name),
                "processor_sample": format!("events/processor/{}.json", route.name),
                "test_secret": route.test_secret,
                "secrets": {
                    "env_prefix": secrets.env_prefix,
                    "id_var": secrets.id_var(),
                    "list_var": secrets.list_var(),
                    "parameter": secrets.parameter,
                    "optional": secrets.optional,
                    "test_value": secrets.test_value,
                },
            })
        })
        .collect();
    json!({
        "name": spec.name,
        "module": format!("shared/src/providers/{}", module_dir(provider)),
        "crate": format!("functions/{}-webhook", spec.name),
        "samples": format!("events/{}-webhook", spec.name),
        "function": format!("{template}WebhookFunction"),
        "log_group": format!("{template}WebhookLogGroup"),
        "rejected_alarm": format!("{template}RejectedAlarm"),
        "routes": routes,
        "settings": spec.settings.iter().map(|s| s.var).collect::<Vec<_>>(),
        "setting_parameters": spec.settings.iter().map(|s| setting_parameter(s.var)).collect::<Vec<_>>(),
        "order_api": spec.order_api.as_ref().map(|api| json!({
            "base_url_var": api.base_url_var,
            "credential_vars": api.auth.credential_vars,
            "credentials_secret_id_var": api.auth.credentials_secret_id_var,
            "session_secret_id_var": api.auth.session_secret_id_var,
            "token_url_var": api.auth.token_url.map(|(var, _)| var),
            "required": api.required,
        })),
        "watched": spec.watch.is_some(),
    })
}

/// The folder of the provider's module: the last part of its module path.
fn module_dir(provider: Provider) -> &'static str {
    let module = provider.spec().module;
    module.rsplit("::").next().unwrap_or(module)
}

fn write_env_json(path: &PathBuf) -> Result<(), String> {
    let mut env: Map<String, Value> = match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a JSON object: {e}", path.display()))?,
        Err(_) => Map::new(),
    };
    for provider in Provider::ALL {
        let spec = provider.spec();
        let function = format!("{}WebhookFunction", spec.template_name);
        let block = env
            .entry(function)
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(block) = block else {
            return Err(format!(
                "{}: {} is not an object",
                path.display(),
                spec.name
            ));
        };
        for (name, value) in LOCAL_RECEIVER_ENV {
            block.insert((*name).to_string(), Value::from(*value));
        }
        for route in spec.routes {
            let secrets = route.secrets;
            block.insert(secrets.list_var(), Value::from(secrets.test_value));
        }
    }
    let text = serde_json::to_string_pretty(&env).map_err(|e| e.to_string())?;
    std::fs::write(path, format!("{text}\n"))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
