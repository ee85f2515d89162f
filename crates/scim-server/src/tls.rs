//! TLS with rustls (ring provider), on when a certificate and key are configured.
//!
//! Client certificates are asked for but never required, and no trust anchor judges them:
//! which certificate a tenant's identity provider must present is the tenant's own setting
//! (`tenant client-cert`), so the server pins certificates per tenant after authentication
//! (`scim_http::PeerCertificate`). rustls still checks that the client holds the
//! certificate's private key (the handshake signature).

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::dev::Extensions;
use anyhow::Context;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{WebPkiSupportedAlgorithms, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use scim_core::tenant::cert_fingerprint;
use scim_http::PeerCertificate;
use tokio::net::TcpStream;

/// The server's rustls configuration from PEM files.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<ServerConfig> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading the TLS certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing the TLS certificate {}", cert.display()))?;
    anyhow::ensure!(!chain.is_empty(), "no certificate in {}", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the TLS private key {}", key.display()))?;
    let provider = Arc::new(ring::default_provider());
    let verifier = Arc::new(AnyClientCert {
        algorithms: provider.signature_verification_algorithms,
    });
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not match")
}

/// The SHA-256 fingerprint of a certificate in a PEM file, as `tenant client-cert` pins it.
pub fn pem_fingerprint(path: &Path) -> anyhow::Result<String> {
    let cert = CertificateDer::from_pem_file(path)
        .with_context(|| format!("reading the certificate {}", path.display()))?;
    Ok(cert_fingerprint(&cert))
}

/// Called for every accepted connection: keeps the fingerprint of the client certificate
/// the TLS handshake presented, for the request handlers.
pub fn remember_peer_certificate(connection: &dyn Any, data: &mut Extensions) {
    let Some(tls) = connection.downcast_ref::<TlsStream<TcpStream>>() else {
        return;
    };
    if let Some(leaf) = tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
        data.insert(PeerCertificate {
            sha256: cert_fingerprint(leaf),
        });
    }
}

/// Accepts any client certificate whose holder proves its private key; per-tenant pinning
/// decides what it is worth.
#[derive(Debug)]
struct AnyClientCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
