//! Decryption of files the reference `sops` encrypted (testdata/encrypted, made by testdata/make-fixtures.sh):
//! against the plaintext they were made from (always), and against `sops -d` on the same files and on files
//! encrypted during the test (when testenv/oracles.sh has built `sops`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{Format, Identities, SopsError, decrypt};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn test_key() -> Identities {
    let path = testdata().join("test-only.agekey");
    Identities::parse(&std::fs::read_to_string(path).unwrap(), "test-only.agekey").unwrap()
}

/// (encrypted fixture, plaintext it was made from).
const FIXTURES: &[(&str, &str)] = &[
    ("secret.enc.yaml", "secret.yaml"),
    ("secret.two-recipients.enc.yaml", "secret.yaml"),
    ("values.enc.yaml", "values.yaml"),
    ("values.mac-only.enc.yaml", "values.yaml"),
    ("multi.enc.yaml", "multi.yaml"),
    ("config.enc.json", "config.json"),
    ("config.unencrypted-regex.enc.json", "config.json"),
    ("app.enc.env", "app.env"),
    ("suffix.enc.yaml", "suffix.yaml"),
    ("encsuffix.enc.yaml", "encsuffix.yaml"),
];

/// A decrypted or plain file as comparable documents, parsed by tack's YAML reader (JSON is YAML).
fn documents(text: &str, format: Format) -> Vec<Value> {
    match format {
        Format::Dotenv => {
            let map = text
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| {
                    let (k, v) = l.split_once('=').unwrap();
                    (k.to_string(), Value::String(v.replace("\\n", "\n")))
                })
                .collect();
            vec![Value::Object(map)]
        }
        _ => tack_yaml::parse_documents(text, "t")
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .filter(|v| !v.is_null())
            .collect(),
    }
}

fn read(dir: &str, name: &str) -> String {
    std::fs::read_to_string(testdata().join(dir).join(name)).unwrap()
}

#[test]
fn fixtures_decrypt_to_their_plaintext() {
    let ids = test_key();
    for (enc, plain) in FIXTURES {
        let format = Format::of_path(Path::new(enc));
        let text = read("encrypted", enc);
        assert!(crate::is_encrypted(&text, format), "{enc}");
        let got = decrypt(&text, format, &ids).unwrap_or_else(|e| panic!("{enc}: {e}"));
        assert_eq!(got.documents(), documents(&read("plain", plain), format), "{enc}");
        // The text form reads back to the same documents.
        assert_eq!(documents(&got.to_text(), format), got.documents(), "{enc} text");
    }
}

#[test]
fn plaintext_is_not_encrypted() {
    for (_, plain) in FIXTURES {
        let format = Format::of_path(Path::new(plain));
        assert!(!crate::is_encrypted(&read("plain", plain), format), "{plain}");
    }
}

#[test]
fn wrong_key_is_refused_naming_recipients() {
    let other = testdata().join("test-only-other.agekey");
    let ids = Identities::parse(&std::fs::read_to_string(other).unwrap(), "other").unwrap();
    let err = decrypt(&read("encrypted", "secret.enc.yaml"), Format::Yaml, &ids)
        .err()
        .unwrap();
    assert!(matches!(err, SopsError::NoMatchingIdentity { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("no age identity matches the file's recipients (age1"),
        "{msg}"
    );
    let none = decrypt(
        &read("encrypted", "secret.enc.yaml"),
        Format::Yaml,
        &Identities::new(),
    );
    assert!(matches!(none, Err(SopsError::NoIdentity)));
}

/// Tampered copies of secret.enc.yaml, each with what it changed.
fn tampered() -> Vec<(&'static str, String)> {
    let text = read("encrypted", "secret.enc.yaml");
    let value_line = text
        .lines()
        .find(|l| l.contains("password: ENC["))
        .unwrap()
        .to_string();
    // Swap two encrypted values: each still authenticates only under its own path.
    let user_line = text
        .lines()
        .find(|l| l.contains("username: ENC["))
        .unwrap()
        .to_string();
    let swapped = text
        .replace(&value_line, "@@P@@")
        .replace(&user_line, &value_line.replace("password:", "username:"))
        .replace("@@P@@", &user_line.replace("username:", "password:"));
    vec![
        (
            "an unencrypted value",
            text.replace("name: db-credentials", "name: db-credentials-2"),
        ),
        (
            "an added unencrypted key",
            text.replace("type: Opaque", "type: Opaque\nimmutable: true"),
        ),
        ("lastmodified", {
            let lm = text.lines().find(|l| l.contains("lastmodified:")).unwrap();
            text.replace(lm, "    lastmodified: \"2020-01-01T00:00:00Z\"")
        }),
        (
            "a removed encrypted value",
            text.replace(&format!("{value_line}\n"), ""),
        ),
        ("swapped encrypted values", swapped),
    ]
}

#[test]
fn tampered_files_are_refused() {
    let ids = test_key();
    for (what, text) in tampered() {
        let err = decrypt(&text, Format::Yaml, &ids)
            .err()
            .unwrap_or_else(|| panic!("{what} accepted"));
        let msg = err.to_string();
        assert!(
            matches!(err, SopsError::MacMismatch | SopsError::Value { .. }),
            "{what}: {msg}"
        );
        for secret in ["hunter2", "admin", "secret-token"] {
            assert!(!msg.contains(secret), "{what}: {msg}");
        }
    }
    let err = decrypt(&tampered()[0].1, Format::Yaml, &ids).err().unwrap();
    assert_eq!(
        err.to_string(),
        "MAC mismatch: the file was modified after encryption"
    );
}

#[test]
fn other_key_services_are_refused() {
    let text = read("encrypted", "secret.enc.yaml");
    let start = text.find("    age:").unwrap();
    let end = text.find("    encrypted_regex:").unwrap();
    let pgp = format!(
        "{}    pgp:\n        - fp: 0123456789ABCDEF\n          enc: x\n    kms:\n        - arn: arn:aws:kms:x\n          enc: y\n{}",
        &text[..start],
        &text[end..]
    );
    let err = decrypt(&pgp, Format::Yaml, &test_key()).err().unwrap();
    let msg = err.to_string();
    assert!(
        msg.starts_with("the file's data key is encrypted only for PGP, AWS KMS;"),
        "{msg}"
    );
    let groups = text.replace(
        "    age:",
        "    key_groups:\n        - age: []\n        - age: []\n    age:",
    );
    let msg = decrypt(&groups, Format::Yaml, &test_key())
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("Shamir"), "{msg}");
}

/// The reference `sops`, when testenv/oracles.sh has built it.
fn sops_oracle() -> Option<PathBuf> {
    let env =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testenv/oracles.env"))
            .ok()?;
    let version = env
        .lines()
        .find_map(|l| l.strip_prefix("SOPS_VERSION="))?
        .trim()
        .to_string();
    let cache = std::env::var_os("TACK_ORACLE_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|c| c.join("tack/oracles"))
        })?;
    let dir = cache.join(format!("sops-{version}/bin"));
    (dir.join(".complete").is_file()).then(|| dir.join("sops"))
}

fn sops(oracle: &Path, args: &[&str], file: &Path) -> std::process::Output {
    Command::new(oracle)
        .arg("--disable-version-check")
        .args(args)
        .arg(file)
        .env("SOPS_AGE_KEY_FILE", testdata().join("test-only.agekey"))
        .env_remove("SOPS_AGE_KEY")
        .output()
        .unwrap()
}

#[test]
fn decryption_matches_sops_d() {
    let Some(oracle) = sops_oracle() else {
        // scripts/test.sh builds the oracle and sets TACK_REQUIRE_ORACLES: there, its absence is a failure.
        assert!(
            std::env::var_os("TACK_REQUIRE_ORACLES").is_none(),
            "the reference sops is not built: run `bash testenv/oracles.sh sops`"
        );
        eprintln!("skipped: the reference sops is not built (bash testenv/oracles.sh sops)");
        return;
    };
    let ids = test_key();
    let tmp = tempfile::tempdir().unwrap();
    let recipient = test_key().recipients().remove(0);
    // The committed fixtures, and the plaintexts encrypted now under each rule set.
    let mut files: Vec<PathBuf> = FIXTURES
        .iter()
        .map(|(e, _)| testdata().join("encrypted").join(e))
        .collect();
    let variants: &[(&str, &[&str])] = &[
        ("values.yaml", &[]),
        ("values.yaml", &["--encrypted-regex", "^(database|ratio)$"]),
        ("values.yaml", &["--unencrypted-regex", "^(replicas|name)$"]),
        ("values.yaml", &["--unencrypted-suffix", "_string"]),
        ("multi.yaml", &["--encrypted-regex", "^(data|stringData)$"]),
        ("config.json", &["--encrypted-suffix", "Key"]),
        ("app.env", &[]),
    ];
    for (i, (plain, flags)) in variants.iter().enumerate() {
        let mut args = vec!["encrypt", "--age", &recipient];
        args.extend_from_slice(flags);
        let out = sops(&oracle, &args, &testdata().join("plain").join(plain));
        assert!(
            out.status.success(),
            "sops encrypt {plain}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = tmp.path().join(format!("{i}-{plain}"));
        std::fs::write(&path, &out.stdout).unwrap();
        files.push(path);
    }
    for file in &files {
        let format = Format::of_path(file);
        let ours = decrypt(&std::fs::read_to_string(file).unwrap(), format, &ids)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let out = sops(&oracle, &["decrypt"], file);
        assert!(
            out.status.success(),
            "sops -d {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = documents(&String::from_utf8(out.stdout).unwrap(), format);
        assert_eq!(ours.documents(), theirs, "{}", file.display());
    }
    // Both refuse the tampered files.
    for (what, text) in tampered() {
        let path = tmp.path().join("tampered.yaml");
        std::fs::write(&path, text).unwrap();
        assert!(
            !sops(&oracle, &["decrypt"], &path).status.success(),
            "sops accepted {what}"
        );
        assert!(decrypt(&std::fs::read_to_string(&path).unwrap(), Format::Yaml, &ids).is_err());
    }
}

#[test]
fn a_broken_stanza_does_not_hide_a_good_one() {
    let text = read("encrypted", "secret.two-recipients.enc.yaml");
    // The first stanza is for the other key; break its armor.
    let first = text.find("-----BEGIN AGE ENCRYPTED FILE-----").unwrap();
    let line_start = text[first..].find('\n').unwrap() + first + 1;
    let broken = format!("{}            !!!!\n{}", &text[..line_start], &text[line_start..]);
    let plain = decrypt(&broken, Format::Yaml, &test_key()).unwrap();
    assert_eq!(plain.documents()[0]["stringData"]["username"], "admin");
    let other = Identities::parse(&read("", "test-only-other.agekey"), "other").unwrap();
    let err = decrypt(&broken, Format::Yaml, &other).err().unwrap();
    assert!(matches!(err, SopsError::DataKey { .. }), "{err}");
}

/// Random byte edits of every fixture (a fixed-seed generator, so the run is reproducible): each mutant is
/// refused or decrypted, never a panic, and an error never carries a fixture's plain value.
#[test]
fn mutated_fixtures_never_panic_or_leak() {
    let ids = test_key();
    let mut state: u64 = 0x5eed_2026;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    for (enc, _) in FIXTURES {
        let format = Format::of_path(Path::new(enc));
        let original = read("encrypted", enc).into_bytes();
        for _ in 0..150 {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 3 {
                let at = next() % bytes.len();
                match next() % 3 {
                    0 => {
                        let alphabet = b" :-[]{},\n\"'#&*ENC0aZ=";
                        bytes[at] = alphabet[next() % alphabet.len()];
                    }
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, b"\n:- x"[next() % 5]),
                }
            }
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            let _ = crate::is_encrypted(&text, format);
            if let Err(e) = decrypt(&text, format, &ids) {
                let msg = e.to_string();
                for secret in ["hunter2-but-longer", "s3cr3t!", "p@ss=word", "json-api-key"] {
                    assert!(!msg.contains(secret), "{enc}: {msg}");
                }
            }
        }
    }
}

#[test]
fn a_damaged_metadata_block_is_still_encrypted_and_refused() {
    let text = read("encrypted", "secret.enc.yaml");
    let mac = text.lines().find(|l| l.trim_start().starts_with("mac:")).unwrap();
    let damaged = text.replace(&format!("{mac}\n"), "");
    assert!(crate::is_encrypted(&damaged, Format::Yaml));
    let err = decrypt(&damaged, Format::Yaml, &test_key()).err().unwrap();
    assert_eq!(err.to_string(), "invalid SOPS metadata: `mac` is missing");
    // A document that merely has a key named `sops` is not a SOPS file.
    assert!(!crate::is_encrypted("sops: {enabled: true}\n", Format::Yaml));
}
