//! The certificates and keys of one local control plane, generated afresh on every `up`.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType,
};

use crate::Result;
use crate::layout::write_file;

/// The certificates and keys of one local control plane, as PEM text.
#[derive(Debug, Clone)]
pub(crate) struct Pki {
    pub ca_cert: String,
    pub admin_cert: String,
    pub admin_key: String,
}

/// Generates a CA, an API server serving certificate (127.0.0.1, localhost, the in-cluster names and
/// the first service IP), an admin client certificate in `system:masters` and a service-account key,
/// and writes them into `dir`.
pub(crate) fn generate(dir: &Path) -> Result<Pki> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = dn("tack-local-ca", None);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::from_params(&ca, &ca_key);

    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec![
        "localhost".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
        "kubernetes.default.svc.cluster.local".to_string(),
    ])?;
    server
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    server
        .subject_alt_names
        .push(SanType::IpAddress([10, 96, 0, 1].into()));
    server.distinguished_name = dn("kube-apiserver", None);
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer)?;

    let admin_key = KeyPair::generate()?;
    let mut admin = CertificateParams::default();
    admin.distinguished_name = dn("tack-admin", Some("system:masters"));
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let admin_cert = admin.signed_by(&admin_key, &issuer)?;

    let sa_key = KeyPair::generate()?;

    let pki = Pki {
        ca_cert: ca_cert.pem(),
        admin_cert: admin_cert.pem(),
        admin_key: admin_key.serialize_pem(),
    };
    write_file(&dir.join("ca.crt"), &pki.ca_cert)?;
    write_file(&dir.join("ca.key"), ca_key.serialize_pem())?;
    write_file(&dir.join("apiserver.crt"), server_cert.pem())?;
    write_file(&dir.join("apiserver.key"), server_key.serialize_pem())?;
    write_file(&dir.join("admin.crt"), &pki.admin_cert)?;
    write_file(&dir.join("admin.key"), &pki.admin_key)?;
    write_file(&dir.join("sa.key"), sa_key.serialize_pem())?;
    write_file(&dir.join("sa.pub"), sa_key.public_key_pem())?;
    Ok(pki)
}

fn dn(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    if let Some(o) = organization {
        dn.push(DnType::OrganizationName, o);
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_file_as_pem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = generate(dir.path()).expect("pki");
        for f in [
            "ca.crt",
            "ca.key",
            "apiserver.crt",
            "apiserver.key",
            "admin.crt",
            "admin.key",
            "sa.key",
            "sa.pub",
        ] {
            let text = std::fs::read_to_string(dir.path().join(f)).expect(f);
            assert!(text.starts_with("-----BEGIN "), "{f} is not PEM");
        }
        assert!(pki.ca_cert.contains("BEGIN CERTIFICATE"));
        assert!(pki.admin_key.contains("PRIVATE KEY"));
    }
}
