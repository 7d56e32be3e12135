//! Sprig v3 (v3.3.0, the version Helm v4.3.2 links): the template functions Helm exposes, that is Sprig's
//! `TxtFuncMap` without `env` and `expandenv` (209 names, listed in [`NAMES`]), for [`tack_gotemplate`].
//!
//! Every function keeps Sprig's Go behaviour: arguments are converted as Sprig converts them
//! (`spf13/cast`: `add 1 "2"` is 3), results have Go's types (`add` gives int64, `until` a list of ints,
//! `splitList` strings, `split` a map with keys `_0`, `_1`…), `set`/`unset`/`merge` change the map they are
//! given, `toString` prints as Go's `%v` does (`1e+06`) and `toJson` as `encoding/json` does (`1000000`).
//! Each function is registered with its Go signature, so the engine checks and converts arguments as
//! text/template does (`wrong type for value; expected int; got float64`); Sprig's panics come back as
//! errors with Go's message (`runtime error: integer divide by zero`).
//!
//! Helm replaces some of these with its own (`toJson`, `fromJson`, `fail`, …, see `tack-helm`); the versions
//! here are Sprig's.
//!
//! Not reproducible, as in Helm: `now`, `date`/`dateInZone`/`htmlDate*` of a value that is not a time,
//! `ago`, `durationRound` of a time, `randAlpha`, `randAlphaNum`, `randAscii`, `randNumeric`, `randBytes`,
//! `randInt`, `uuidv4`, `shuffle`, `bcrypt`, `htpasswd`, `encryptAES`, `genPrivateKey`, `genCA*`,
//! `genSelfSignedCert*`, `genSignedCert*`. The clock and the local time zone come from [`Env`], so that a
//! caller (and the tests) can fix them; randomness comes from the operating system.
//!
//! Refused on purpose, with these errors:
//! - `getHostByName`: `getHostByName: DNS lookups are not allowed while rendering (tack renders without
//!   network access)` (Helm without `--enable-dns` returns "").
//! - `genPrivateKey "dsa"`: `genPrivateKey: dsa keys are not supported` (DSA is deprecated in Go; no Rust
//!   implementation is linked). A DSA key given to a `WithKey` function: `parsing private key: dsa keys are
//!   not supported`.
//!
//! Limits that Go does not have: `repeat` refuses results over 64 MiB (`strings: Repeat output length
//! overflow`), `until`/`untilStep`/`seq` ranges over 10 000 000 elements.
//!
//! Known differences from Go, none of which changes a successful render of a realistic chart:
//! - Sprig's `[]string`, `[]int` and `map[string]string` results are lists and maps of interface values,
//!   so `typeOf (splitList "," "a")` prints `[]interface {}` where Go prints `[]string`, and `sortAlpha`
//!   does not sort a `[]string` argument in place as Go's does.
//! - Strings are UTF-8: where Go keeps arbitrary bytes in a string (`b64dec` of binary data, `trunc` or
//!   `substr` cutting a multi-byte character), the invalid bytes become U+FFFD.
//! - `time.Time`, `uint32` and `sprig.certificate` parameters are checked by the function, so a wrong
//!   argument reports `error calling dateModify: wrong type for value; expected time.Time; got string`
//!   where Go reports the same message at the argument.
//! - `now` prints a monotonic clock reading (`m=+…`) that is not the process's uptime.

#![warn(missing_docs)]

mod convert;
mod crypto;
mod dates;
mod defaults;
mod dicts;
mod encoding;
mod gotime;
pub mod json;
mod lists;
mod math;
mod paths;
mod random;
mod reflect;
mod regexes;
mod semver;
mod signatures;
mod strings;
mod urls;

use std::rc::Rc;

use tack_gotemplate::Funcs;

pub use convert::{fmt_v, format_float_g, strval, to_float64, to_int64};
pub use gotime::GoTime;

/// What the non-reproducible functions read from the outside world.
#[derive(Clone)]
pub struct Env {
    /// The current time (`now`, `ago`, `date` of a non-time value, certificate validity).
    pub clock: Rc<dyn Fn() -> jiff::Timestamp>,
    /// Go's `time.Local`: the zone of `now`, `date`, `toDate` and `time.Unix`.
    pub local: jiff::tz::TimeZone,
}

impl Env {
    /// The system clock and time zone.
    pub fn system() -> Env {
        // Without a configured zone, Go's time.Local is UTC.
        let local = jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC);
        Env {
            clock: Rc::new(jiff::Timestamp::now),
            local,
        }
    }

    /// A fixed instant in the given zone (for tests and reproducible renders).
    pub fn fixed(at: jiff::Timestamp, local: jiff::tz::TimeZone) -> Env {
        Env {
            clock: Rc::new(move || at),
            local,
        }
    }
}

/// Adds every Sprig function Helm exposes to `funcs`, with the system clock and time zone.
pub fn install(funcs: &mut Funcs) {
    install_with(funcs, Env::system());
}

/// Adds every Sprig function Helm exposes to `funcs`, reading time from `env`.
pub fn install_with(funcs: &mut Funcs, env: Env) {
    strings::register(funcs);
    math::register(funcs);
    lists::register(funcs);
    dicts::register(funcs);
    defaults::register(funcs);
    reflect::register(funcs);
    paths::register(funcs);
    urls::register(funcs);
    encoding::register(funcs);
    regexes::register(funcs);
    random::register(funcs);
    crypto::register(funcs, &env);
    semver::register(funcs);
    dates::register(funcs, &env);
    signatures::apply(funcs);
}

/// The names [`install`] defines: Sprig v3.3.0's function map without `env` and `expandenv`.
pub const NAMES: &[&str] = &[
    "abbrev",
    "abbrevboth",
    "add",
    "add1",
    "add1f",
    "addf",
    "adler32sum",
    "ago",
    "all",
    "any",
    "append",
    "atoi",
    "b32dec",
    "b32enc",
    "b64dec",
    "b64enc",
    "base",
    "bcrypt",
    "biggest",
    "buildCustomCert",
    "camelcase",
    "cat",
    "ceil",
    "chunk",
    "clean",
    "coalesce",
    "compact",
    "concat",
    "contains",
    "date",
    "dateInZone",
    "dateModify",
    "date_in_zone",
    "date_modify",
    "decryptAES",
    "deepCopy",
    "deepEqual",
    "default",
    "derivePassword",
    "dict",
    "dig",
    "dir",
    "div",
    "divf",
    "duration",
    "durationRound",
    "empty",
    "encryptAES",
    "ext",
    "fail",
    "first",
    "float64",
    "floor",
    "fromJson",
    "genCA",
    "genCAWithKey",
    "genPrivateKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "get",
    "getHostByName",
    "has",
    "hasKey",
    "hasPrefix",
    "hasSuffix",
    "hello",
    "htmlDate",
    "htmlDateInZone",
    "htpasswd",
    "indent",
    "initial",
    "initials",
    "int",
    "int64",
    "isAbs",
    "join",
    "kebabcase",
    "keys",
    "kindIs",
    "kindOf",
    "last",
    "list",
    "lower",
    "max",
    "maxf",
    "merge",
    "mergeOverwrite",
    "min",
    "minf",
    "mod",
    "mul",
    "mulf",
    "mustAppend",
    "mustChunk",
    "mustCompact",
    "mustDateModify",
    "mustDeepCopy",
    "mustFirst",
    "mustFromJson",
    "mustHas",
    "mustInitial",
    "mustLast",
    "mustMerge",
    "mustMergeOverwrite",
    "mustPrepend",
    "mustPush",
    "mustRegexFind",
    "mustRegexFindAll",
    "mustRegexMatch",
    "mustRegexReplaceAll",
    "mustRegexReplaceAllLiteral",
    "mustRegexSplit",
    "mustRest",
    "mustReverse",
    "mustSlice",
    "mustToDate",
    "mustToJson",
    "mustToPrettyJson",
    "mustToRawJson",
    "mustUniq",
    "mustWithout",
    "must_date_modify",
    "nindent",
    "nospace",
    "now",
    "omit",
    "osBase",
    "osClean",
    "osDir",
    "osExt",
    "osIsAbs",
    "pick",
    "pluck",
    "plural",
    "prepend",
    "push",
    "quote",
    "randAlpha",
    "randAlphaNum",
    "randAscii",
    "randBytes",
    "randInt",
    "randNumeric",
    "regexFind",
    "regexFindAll",
    "regexMatch",
    "regexQuoteMeta",
    "regexReplaceAll",
    "regexReplaceAllLiteral",
    "regexSplit",
    "repeat",
    "replace",
    "rest",
    "reverse",
    "round",
    "semver",
    "semverCompare",
    "seq",
    "set",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "shuffle",
    "slice",
    "snakecase",
    "sortAlpha",
    "split",
    "splitList",
    "splitn",
    "squote",
    "sub",
    "subf",
    "substr",
    "swapcase",
    "ternary",
    "title",
    "toDate",
    "toDecimal",
    "toJson",
    "toPrettyJson",
    "toRawJson",
    "toString",
    "toStrings",
    "trim",
    "trimAll",
    "trimPrefix",
    "trimSuffix",
    "trimall",
    "trunc",
    "tuple",
    "typeIs",
    "typeIsLike",
    "typeOf",
    "uniq",
    "unixEpoch",
    "unset",
    "until",
    "untilStep",
    "untitle",
    "upper",
    "urlJoin",
    "urlParse",
    "uuidv4",
    "values",
    "without",
    "wrap",
    "wrapWith",
];
