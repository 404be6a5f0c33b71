//! `hookline sign`: produce correctly signed requests for payload files, so a user can try the
//! pipeline in seconds and `events/` can be regenerated.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use hookline::dev_defaults::LISTEN_ADDR;
use time::OffsetDateTime;

use crate::samples::apigw_event;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// A curl command that POSTs the payload file to a running `hookline serve` (or any URL).
    Curl,
    /// An API Gateway HTTP API v2 event, for `sam local invoke` and `cargo lambda invoke`.
    Apigw,
}

#[derive(Args)]
pub struct SignArgs {
    #[command(flatten)]
    sample: super::Payloads,
    /// Signing secret (Optty: the path token). Defaults to the provider's published test secret.
    #[arg(long, env = "HOOKLINE_SIGN_SECRET", hide_env_values = true)]
    secret: Option<String>,
    #[arg(long, value_enum, default_value = "curl")]
    format: Format,
    /// Where the curl line posts to. Defaults to the provider's route on `hookline serve`.
    #[arg(long)]
    url: Option<String>,
    /// API Gateway events: base64-encode the body (`isBase64Encoded: true`).
    #[arg(long)]
    base64: bool,
    /// API Gateway events: write one `<payload name>.json` per payload here instead of stdout.
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

pub fn run(args: SignArgs) -> Result<(), crate::failure::Failure> {
    let secret = args
        .secret
        .clone()
        .unwrap_or_else(|| args.sample.provider.test_secret().to_string());
    let timestamp = args
        .sample
        .timestamp
        .unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp());
    for path in &args.sample.payloads {
        let file = std::fs::read(path).map_err(|e| crate::failure::Failure::file(path, &e))?;
        // A sample's own event time ages past what the receivers accept (they bound it when
        // the request time is unsigned): signed now, it is dated now, and sent inline.
        let redated = args.sample.provider.redated(&file, timestamp)?;
        if redated.is_some() {
            eprintln!(
                "note: {}: its event time is older than the receiver accepts; signed with it set to the signing time (the body is given inline)",
                path.display()
            );
        }
        let body = redated.clone().unwrap_or(file);
        let request = args
            .sample
            .provider
            .sign(&secret, &args.sample.source, &body, timestamp)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        match args.format {
            Format::Curl => {
                let url = args
                    .url
                    .clone()
                    .unwrap_or_else(|| format!("http://{LISTEN_ADDR}{}", request.path));
                let data = match &redated {
                    Some(body) => Data::Inline(body),
                    None => Data::File(path),
                };
                println!("{}", curl_line(&url, &request.headers, data))
            }
            Format::Apigw => {
                let event = apigw_event::post(&request, &body, args.base64, timestamp);
                let text = serde_json::to_string_pretty(&event).map_err(|e| e.to_string())?;
                match &args.out_dir {
                    Some(dir) => write_event(dir, path, &text)?,
                    None => println!("{text}"),
                }
            }
        }
    }
    Ok(())
}

fn write_event(dir: &Path, payload: &Path, text: &str) -> Result<(), String> {
    let name = payload
        .file_name()
        .ok_or_else(|| format!("{} has no file name", payload.display()))?;
    let out = dir.join(name);
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(&out, format!("{text}\n"))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// What the curl line sends: the file, or the body as signed when it differs from the file.
enum Data<'a> {
    File(&'a Path),
    Inline(&'a [u8]),
}

/// `--data-binary @file` sends the file's exact bytes, which is what was signed.
fn curl_line(url: &str, headers: &[(String, String)], data: Data<'_>) -> String {
    let mut line = format!("curl -sS -X POST {}", shell_quote(url));
    for (name, value) in headers {
        line.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
    }
    let data = match data {
        Data::File(path) => format!("@{}", path.display()),
        Data::Inline(body) => String::from_utf8_lossy(body).into_owned(),
    };
    line.push_str(&format!(" --data-binary {}", shell_quote(&data)));
    line
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn curl_line_sends_a_redated_body_inline() {
        let line = curl_line("http://h/w", &[], Data::Inline(br#"{"at":"it's"}"#));
        assert_eq!(
            line,
            r#"curl -sS -X POST 'http://h/w' --data-binary '{"at":"it'\''s"}'"#
        );
    }

    #[test]
    fn curl_line_sends_the_file_bytes() {
        let headers = vec![("x-signature".to_string(), "ab".to_string())];
        let line = curl_line(
            "http://127.0.0.1:3000/webhooks/octopus",
            &headers,
            Data::File(Path::new("p.json")),
        );
        assert_eq!(
            line,
            "curl -sS -X POST 'http://127.0.0.1:3000/webhooks/octopus' -H 'x-signature: ab' --data-binary '@p.json'"
        );
    }
}
