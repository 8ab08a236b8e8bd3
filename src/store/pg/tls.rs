//! TLS to PostgreSQL, by libpq's `sslmode` and `sslrootcert` URL options.
//!
//! tokio-postgres itself knows only `disable`, `prefer` and `require`, and
//! none of them checks the server's certificate. Cairn reads libpq's
//! options from the URL, hands tokio-postgres the URL without them, and
//! gives rustls the verification each mode promises:
//!
//! | sslmode | TLS | certificate checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (default) | when the server offers it | no |
//! | `require` | always | no |
//! | `verify-ca` | always | chain to a trusted root |
//! | `verify-full` | always | chain and host name |
//!
//! Trusted roots are the PEM file `sslrootcert` names, else the Web PKI
//! roots (`webpki-roots`), so managed databases with public certificates
//! work without a file. rustls runs on aws-lc-rs, as the rest of Cairn's TLS.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};

use crate::store::StoreError;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// A database URL split into what tokio-postgres reads and the TLS policy.
#[derive(Debug)]
pub struct Target {
    /// The URL for tokio-postgres (its own `sslmode`, no `sslrootcert`).
    pub url: String,
    pub mode: Mode,
    /// The PEM file of trusted roots, if given.
    pub root_cert: Option<String>,
}

fn bad(msg: String) -> StoreError {
    StoreError::Corrupt(format!("database URL: {msg}"))
}

/// Reads libpq's TLS options out of `url`.
pub fn target(url: &str) -> Result<Target, StoreError> {
    // Errors never repeat the URL: it holds the password.
    let mut parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    let mut mode = Mode::Prefer;
    let mut root_cert = None;
    let mut rest = Vec::new();
    for (k, v) in parsed.query_pairs() {
        match k.as_ref() {
            "sslmode" => {
                mode = match v.as_ref() {
                    "disable" => Mode::Disable,
                    "allow" | "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => return Err(bad(format!("unknown sslmode {other:?}"))),
                }
            }
            "sslrootcert" => root_cert = Some(v.into_owned()),
            _ => rest.push((k.into_owned(), v.into_owned())),
        }
    }
    let theirs = match mode {
        Mode::Disable => "disable",
        Mode::Prefer => "prefer",
        _ => "require",
    };
    rest.push(("sslmode".into(), theirs.into()));
    parsed.query_pairs_mut().clear().extend_pairs(&rest);
    Ok(Target {
        url: parsed.into(),
        mode,
        root_cert,
    })
}

/// The rustls configuration for `t` (`None` for `disable`).
pub fn client_config(t: &Target) -> Result<Option<ClientConfig>, StoreError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?;
    let verifier: Arc<dyn ServerCertVerifier> = match t.mode {
        Mode::Disable => return Ok(None),
        Mode::Prefer | Mode::Require => Arc::new(Relaxed {
            chain: None,
            provider,
        }),
        Mode::VerifyCa | Mode::VerifyFull => {
            let mut roots = RootCertStore::empty();
            match &t.root_cert {
                Some(path) => {
                    let certs = CertificateDer::pem_file_iter(path)
                        .map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
                    for c in certs {
                        let c = c.map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
                        roots
                            .add(c)
                            .map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                Arc::clone(&provider),
            )
            .build()
            .map_err(|e| bad(e.to_string()))?;
            if t.mode == Mode::VerifyFull {
                webpki
            } else {
                Arc::new(Relaxed {
                    chain: Some(webpki),
                    provider,
                })
            }
        }
    };
    Ok(Some(
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth(),
    ))
}

/// The modes rustls's own verifier does not cover: `prefer` and `require`
/// (encrypted, certificate not checked: libpq's meaning; `chain` is None)
/// and `verify-ca` (the chain must lead to a trusted root, the name may
/// differ). The handshake's signatures are checked either way.
#[derive(Debug)]
struct Relaxed {
    chain: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_options_are_read_and_removed() {
        let t = target(
            "postgres://u:p%40ss@db.example:5432/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=cairn",
        )
        .expect("target");
        assert_eq!(t.mode, Mode::VerifyFull);
        assert_eq!(t.root_cert.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(
            t.url,
            "postgres://u:p%40ss@db.example:5432/app?application_name=cairn&sslmode=require"
        );
        assert_eq!(target("postgres://h/db").expect("plain").mode, Mode::Prefer);
        assert!(
            client_config(&target("postgres://h/db?sslmode=disable").expect("off"))
                .expect("config")
                .is_none()
        );
        let err = target("postgres://u:secret@h/db?sslmode=sometimes").expect_err("bad mode");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
