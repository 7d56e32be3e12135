//! The errors of SOPS decryption. None of them carries a decrypted value: paths and recipients are public
//! (they are visible in the encrypted file), plaintext never is.

/// Why a SOPS file could not be decrypted.
#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    /// The file is not valid YAML, JSON or dotenv text.
    #[error("the SOPS file cannot be parsed: {message}")]
    Syntax {
        /// The parser's message (a position and what was expected; no value).
        message: String,
    },
    /// The file has no `sops` metadata block.
    #[error("the file is not SOPS-encrypted (no `sops` metadata with `mac` and `lastmodified`)")]
    NotEncrypted,
    /// The `sops` metadata block is malformed.
    #[error("invalid SOPS metadata: {message}")]
    Metadata {
        /// What is wrong with it.
        message: String,
    },
    /// The file uses a SOPS feature tack does not implement.
    #[error("unsupported SOPS file: {what}")]
    Unsupported {
        /// The feature.
        what: String,
    },
    /// The data key is encrypted only for key services tack does not use (PGP, cloud KMS, Vault).
    #[error(
        "the file's data key is encrypted only for {providers}; tack decrypts files with age recipients \
         only (PGP, AWS/GCP/Azure/Huawei KMS and HashiCorp Vault are not supported): add an age recipient \
         with `sops updatekeys` or `sops -r -i --add-age RECIPIENT FILE`"
    )]
    NoAgeRecipient {
        /// The key services the file names, comma-separated.
        providers: String,
    },
    /// No age identity was given.
    #[error("the file is SOPS-encrypted but no age identity was given to decrypt it")]
    NoIdentity,
    /// None of the given identities opens the data key.
    #[error("no age identity matches the file's recipients ({recipients})")]
    NoMatchingIdentity {
        /// The file's age recipients (public keys), comma-separated.
        recipients: String,
    },
    /// The age stanza holding the data key is broken.
    #[error("the data key for age recipient {recipient} cannot be decrypted: {message}")]
    DataKey {
        /// The recipient whose stanza failed.
        recipient: String,
        /// age's message.
        message: String,
    },
    /// A value cannot be decrypted (wrong data key, tampered ciphertext or malformed `ENC[...]`).
    #[error("the value at `{path}` cannot be decrypted: {reason}")]
    Value {
        /// The value's key path, `a:b:c` (as SOPS authenticates it).
        path: String,
        /// Why (never the value).
        reason: String,
    },
    /// The MAC over the decrypted values does not match the stored one.
    #[error("MAC mismatch: the file was modified after encryption")]
    MacMismatch,
    /// An age identity cannot be parsed.
    #[error("invalid age identity on line {line} of {source_name}: {reason}")]
    Identity {
        /// Where the identities came from (a file name or a Secret key).
        source_name: String,
        /// 1-based line.
        line: usize,
        /// Why (never the key).
        reason: String,
    },
}
