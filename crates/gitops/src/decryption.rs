//! `spec.decryption`: the age identities that decrypt an application's SOPS-encrypted files, read from a
//! Secret in the application's namespace whose entries ending in `.agekey` hold them (Flux's layout).

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};
use tack_model::{DECRYPTION_PROVIDER_SOPS, GitOpsConfig};
use tack_sops::Identities;

use crate::Error;

/// The suffix of the Secret entries that hold age identities.
pub const AGE_KEY_SUFFIX: &str = ".agekey";

/// Checks `spec.decryption` without reading anything: the provider must be `sops` and the Secret named.
pub(crate) fn validate(obj: &GitOpsConfig) -> Result<(), Error> {
    let Some(d) = &obj.spec.decryption else {
        return Ok(());
    };
    if d.provider != DECRYPTION_PROVIDER_SOPS {
        return Err(Error::InvalidSpec(format!(
            "spec.decryption.provider: `{}` is not supported; the only provider is `sops`",
            d.provider
        )));
    }
    if d.secret_ref.name.is_empty() {
        return Err(Error::InvalidSpec(
            "spec.decryption.secretRef.name: name the Secret holding the age keys (entries ending in .agekey)"
                .into(),
        ));
    }
    Ok(())
}

/// The identities of the entries ending in `.agekey` of a Secret's data. Errors name the entry, never a key.
pub fn identities_from_secret_data<'a>(
    data: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<Identities, String> {
    let mut ids = Identities::new();
    for (name, value) in data {
        if !name.ends_with(AGE_KEY_SUFFIX) {
            continue;
        }
        let text = std::str::from_utf8(value).map_err(|_| format!("entry {name} is not UTF-8 text"))?;
        ids.add(text, name).map_err(|e| e.to_string())?;
    }
    if ids.is_empty() {
        return Err(format!(
            "holds no age identity: add an entry ending in {AGE_KEY_SUFFIX} with the output of age-keygen \
             (kubectl create secret generic NAME --from-file=age.agekey=KEYFILE)"
        ));
    }
    Ok(ids)
}

/// The identities of `spec.decryption.secretRef`, or `None` without `spec.decryption`.
pub(crate) async fn identities(
    client: &kube::Client,
    obj: &GitOpsConfig,
) -> Result<Option<Arc<Identities>>, Error> {
    validate(obj)?;
    let Some(d) = &obj.spec.decryption else {
        return Ok(None);
    };
    let namespace = obj.namespace().unwrap_or_default();
    let err = |message: String| Error::Credentials {
        name: format!("{namespace}/{}", d.secret_ref.name),
        message: format!("(spec.decryption.secretRef) {message}"),
    };
    let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let secret = api
        .get_opt(&d.secret_ref.name)
        .await
        .map_err(|e| err(format!("cannot be read: {e}")))?
        .ok_or_else(|| {
            err(format!(
                "not found; create it with the age keys in entries ending in {AGE_KEY_SUFFIX}"
            ))
        })?;
    let data = secret.data.unwrap_or_default();
    identities_from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.0.as_slice())))
        .map(|ids| Some(Arc::new(ids)))
        .map_err(err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../sops/testdata/test-only.agekey");

    #[test]
    fn agekey_entries_only() {
        let ids = identities_from_secret_data([
            ("age.agekey", KEY.as_bytes()),
            ("README", b"not a key".as_slice()),
        ])
        .unwrap();
        assert_eq!(ids.len(), 1);
        let e = identities_from_secret_data([("other", KEY.as_bytes())]).unwrap_err();
        assert!(e.contains("holds no age identity"), "{e}");
        let e = identities_from_secret_data([("bad.agekey", b"AGE-SECRET-KEY-1XYZ".as_slice())]).unwrap_err();
        assert!(e.contains("line 1 of bad.agekey") && !e.contains("XYZ"), "{e}");
    }
}
