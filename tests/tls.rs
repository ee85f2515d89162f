//! TLS and per-tenant client certificates, with certificates the test makes itself: the
//! server serves HTTPS with a certificate of a test CA; a tenant that pinned its IdP's
//! client certificate is reachable only over a connection presenting it, whatever the
//! bearer token; other tenants need none.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedKey, IsCa, KeyPair};
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};

use crate::helpers::{Server, Store, cli, cli_output, tenant_with_token};

struct Issued {
    cert_pem: String,
    key_pem: String,
}

fn ca() -> CertifiedKey {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key_pair = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key_pair).expect("CA");
    CertifiedKey { cert, key_pair }
}

fn issue(names: &[&str], ca: &CertifiedKey) -> Issued {
    let params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
        .expect("params");
    let key = KeyPair::generate().expect("key");
    let cert = params
        .signed_by(&key, &ca.cert, &ca.key_pair)
        .expect("signed");
    Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// An HTTPS agent trusting `ca`, presenting `client` when given.
fn agent(ca: &CertifiedKey, client: Option<&Issued>) -> ureq::Agent {
    let roots = vec![
        Certificate::from_pem(ca.cert.pem().as_bytes())
            .expect("CA pem")
            .to_owned(),
    ];
    let mut tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::Specific(Arc::new(roots)));
    if let Some(client) = client {
        let cert = Certificate::from_pem(client.cert_pem.as_bytes())
            .expect("cert")
            .to_owned();
        let key = PrivateKey::from_pem(client.key_pem.as_bytes())
            .expect("key")
            .to_owned();
        tls = tls.client_cert(Some(ClientCert::new_with_certs(&[cert], key)));
    }
    ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// The status of `GET /scim/v2/Users` with `token` over `agent`.
fn status(agent: &ureq::Agent, base: &str, token: &str) -> u16 {
    agent
        .get(format!("{base}/scim/v2/Users"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("HTTPS exchange")
        .status()
        .as_u16()
}

#[test]
fn https_and_per_tenant_client_certificates() {
    let ca = ca();
    let server_cert = issue(&["localhost", "127.0.0.1"], &ca);
    let pinned = issue(&["entra-provisioning"], &ca);
    let other = issue(&["someone-else"], &ca);
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write pem");
        path.display().to_string()
    };
    let (cert_path, key_path) = (
        write("server.pem", &server_cert.cert_pem),
        write("server.key", &server_cert.key_pem),
    );
    let pinned_path = write("pinned.pem", &pinned.cert_pem);

    let store = Store::sqlite();
    let acme = tenant_with_token(&store, "acme");
    let globex = tenant_with_token(&store, "globex");
    let out = cli(
        &store,
        &["tenant", "client-cert", "acme", "--cert", &pinned_path],
    );
    assert!(
        out.contains("requires a TLS client certificate with SHA-256"),
        "{out}"
    );
    // A file that is no certificate is refused, and nothing is pinned from it.
    let bad = cli_output(
        &store,
        &["tenant", "client-cert", "globex", "--cert", &key_path],
    );
    assert!(!bad.status.success());

    let server = Server::start_with(
        store,
        &[
            "--tls-cert",
            &cert_path,
            "--tls-key",
            &key_path,
            "--credential-cache-seconds",
            "1",
        ],
        "warn",
        Stdio::inherit(),
    );
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let base = server.base.replacen("127.0.0.1", "localhost", 1);

    let anonymous = agent(&ca, None);
    let with_pinned = agent(&ca, Some(&pinned));
    let with_other = agent(&ca, Some(&other));
    // acme pinned its IdP's certificate: only that connection gets in.
    assert_eq!(status(&with_pinned, &base, &acme), 200);
    assert_eq!(status(&anonymous, &base, &acme), 401);
    assert_eq!(status(&with_other, &base, &acme), 401);
    // globex pinned nothing: any connection, with or without a certificate.
    assert_eq!(status(&anonymous, &base, &globex), 200);
    assert_eq!(status(&with_other, &base, &globex), 200);
    // A connection without the pinned certificate gets exactly what a wrong token gets:
    // it learns nothing about the token it sent.
    let answer = |token: &str| {
        let response = anonymous
            .get(format!("{base}/scim/v2/Users"))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .expect("HTTPS exchange");
        let challenges: Vec<String> = response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let status = response.status().as_u16();
        let body = response.into_body().read_to_string().expect("body");
        (status, challenges, body)
    };
    let unknown = format!("scim_{}", "x".repeat(43));
    let (refused, wrong) = (answer(&acme), answer(&unknown));
    assert_eq!(refused, wrong, "the same 401 either way");
    assert!(
        refused.2.contains("the bearer token is not valid"),
        "{}",
        refused.2
    );
    // Served over HTTPS, every response asks the browser to stay on it.
    let response = with_pinned
        .get(format!("{base}/scim/v2/ServiceProviderConfig"))
        .call()
        .expect("HTTPS exchange");
    assert_eq!(
        response
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );

    // Removing the pin opens acme to any connection again, once the server's credential
    // cache (1 s here) let go of what it knew of acme's token.
    cli(&server.store, &["tenant", "client-cert", "acme", "--none"]);
    let started = std::time::Instant::now();
    while status(&anonymous, &base, &acme) != 200 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "still pinned"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
