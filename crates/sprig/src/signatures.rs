//! The Go signatures of Sprig's functions, so that the engine checks and converts arguments as Go's
//! text/template does (`wrong number of args for upper: want 1 got 2`, `wrong type for value; expected int;
//! got float64`, literals converted to the parameter's type). Parameters of types the engine does not model
//! (`time.Time`, `uint32`, `sprig.certificate`, `*semver.Version`) are `interface {}` here and checked by
//! the function itself.

use tack_gotemplate::{ArgType, Funcs, Signature};

use ArgType::{Any, Bool, Float64, Int, List, Map, String as Str};

/// (names, fixed parameters, variadic parameter)
type Entry = (&'static [&'static str], &'static [ArgType], Option<ArgType>);

const TABLE: &[Entry] = &[
    (&["hello", "now", "uuidv4"], &[], None),
    (
        &[
            "ago",
            "duration",
            "durationRound",
            "htmlDate",
            "toString",
            "int64",
            "int",
            "float64",
            "toDecimal",
        ],
        &[Any],
        None,
    ),
    (
        &[
            "toStrings",
            "add1",
            "add1f",
            "ceil",
            "floor",
            "sortAlpha",
            "empty",
            "compact",
            "mustCompact",
        ],
        &[Any],
        None,
    ),
    (
        &[
            "toJson",
            "mustToJson",
            "toPrettyJson",
            "mustToPrettyJson",
            "toRawJson",
            "mustToRawJson",
        ],
        &[Any],
        None,
    ),
    (
        &["deepCopy", "mustDeepCopy", "typeOf", "kindOf", "unixEpoch"],
        &[Any],
        None,
    ),
    (
        &[
            "first",
            "mustFirst",
            "last",
            "mustLast",
            "rest",
            "mustRest",
            "initial",
            "mustInitial",
        ],
        &[Any],
        None,
    ),
    (&["reverse", "mustReverse", "uniq", "mustUniq"], &[Any], None),
    (&["date"], &[Str, Any], None),
    (&["dateInZone", "date_in_zone"], &[Str, Any, Str], None),
    (&["htmlDateInZone"], &[Any, Str], None),
    (
        &["dateModify", "date_modify", "mustDateModify", "must_date_modify"],
        &[Str, Any],
        None,
    ),
    (&["toDate", "mustToDate"], &[Str, Str], None),
    (
        &["abbrev", "trunc", "repeat", "wrap", "indent", "nindent"],
        &[Int, Str],
        None,
    ),
    (&["abbrevboth", "substr"], &[Int, Int, Str], None),
    (
        &[
            "trim", "upper", "lower", "title", "untitle", "nospace", "initials", "swapcase", "shuffle",
        ],
        &[Str],
        None,
    ),
    (
        &[
            "snakecase",
            "camelcase",
            "kebabcase",
            "sha1sum",
            "sha256sum",
            "sha512sum",
            "adler32sum",
        ],
        &[Str],
        None,
    ),
    (
        &[
            "atoi",
            "fromJson",
            "mustFromJson",
            "getHostByName",
            "base",
            "dir",
            "clean",
            "ext",
            "isAbs",
        ],
        &[Str],
        None,
    ),
    (
        &[
            "osBase", "osDir", "osClean", "osExt", "osIsAbs", "b64enc", "b64dec", "b32enc", "b32dec",
        ],
        &[Str],
        None,
    ),
    (
        &[
            "bcrypt",
            "genPrivateKey",
            "semver",
            "fail",
            "regexQuoteMeta",
            "urlParse",
        ],
        &[Str],
        None,
    ),
    (
        &[
            "randAlphaNum",
            "randAlpha",
            "randAscii",
            "randNumeric",
            "randBytes",
            "until",
        ],
        &[Int],
        None,
    ),
    (
        &[
            "trimall",
            "trimAll",
            "trimSuffix",
            "trimPrefix",
            "contains",
            "hasPrefix",
            "hasSuffix",
        ],
        &[Str, Str],
        None,
    ),
    (
        &[
            "split",
            "splitList",
            "htpasswd",
            "buildCustomCert",
            "encryptAES",
            "decryptAES",
        ],
        &[Str, Str],
        None,
    ),
    (
        &[
            "semverCompare",
            "regexMatch",
            "mustRegexMatch",
            "regexFind",
            "mustRegexFind",
        ],
        &[Str, Str],
        None,
    ),
    (&["wrapWith"], &[Int, Str, Str], None),
    (
        &[
            "quote", "squote", "cat", "coalesce", "all", "any", "tuple", "list", "dict", "concat", "dig",
        ],
        &[],
        Some(Any),
    ),
    (
        &["replace", "regexReplaceAll", "mustRegexReplaceAll"],
        &[Str, Str, Str],
        None,
    ),
    (
        &["regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"],
        &[Str, Str, Str],
        None,
    ),
    (
        &["regexFindAll", "mustRegexFindAll", "regexSplit", "mustRegexSplit"],
        &[Str, Str, Int],
        None,
    ),
    (&["plural"], &[Str, Str, Int], None),
    (&["splitn"], &[Str, Int, Str], None),
    (&["seq"], &[], Some(Int)),
    (&["untilStep"], &[Int, Int, Int], None),
    (&["add", "addf"], &[], Some(Any)),
    (&["sub", "div", "mod"], &[Any, Any], None),
    (
        &[
            "mul", "subf", "divf", "mulf", "biggest", "max", "min", "maxf", "minf",
        ],
        &[Any],
        Some(Any),
    ),
    (&["randInt"], &[Int, Int], None),
    (&["round"], &[Any, Int], Some(Float64)),
    (&["join"], &[Str, Any], None),
    (&["default"], &[Any], Some(Any)),
    (&["ternary"], &[Any, Any, Bool], None),
    (&["typeIs", "typeIsLike", "kindIs"], &[Str, Any], None),
    (&["deepEqual"], &[Any, Any], None),
    (&["get", "unset", "hasKey"], &[Map, Str], None),
    (&["set"], &[Map, Str, Any], None),
    (&["pluck"], &[Str], Some(Map)),
    (&["keys"], &[], Some(Map)),
    (&["pick", "omit"], &[Map], Some(Str)),
    (
        &["merge", "mustMerge", "mergeOverwrite", "mustMergeOverwrite"],
        &[Map],
        Some(Map),
    ),
    (&["values", "urlJoin"], &[Map], None),
    (
        &[
            "append",
            "push",
            "mustAppend",
            "mustPush",
            "prepend",
            "mustPrepend",
            "has",
            "mustHas",
        ],
        &[Any, Any],
        None,
    ),
    (
        &["without", "mustWithout", "slice", "mustSlice"],
        &[Any],
        Some(Any),
    ),
    (&["chunk", "mustChunk"], &[Int, Any], None),
    (&["derivePassword"], &[Any, Str, Str, Str, Str], None),
    (&["genCA"], &[Str, Int], None),
    (&["genCAWithKey"], &[Str, Int, Str], None),
    (&["genSelfSignedCert"], &[Str, List, List, Int], None),
    (&["genSelfSignedCertWithKey"], &[Str, List, List, Int, Str], None),
    (&["genSignedCert"], &[Str, List, List, Int, Any], None),
    (&["genSignedCertWithKey"], &[Str, List, List, Int, Any, Str], None),
];

/// Re-registers every function of the table with its Go signature.
pub fn apply(funcs: &mut Funcs) {
    for (names, params, variadic) in TABLE {
        for name in *names {
            let Some(f) = funcs.get(name).cloned() else {
                continue;
            };
            let sig = match variadic {
                Some(v) => Signature::variadic(params, *v),
                None => Signature::fixed(params),
            };
            funcs.insert_typed(name, sig, move |call, args| f(call, args));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_a_signature_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (names, _, _) in TABLE {
            for n in *names {
                assert!(seen.insert(*n), "{n} twice");
            }
        }
        let all: std::collections::BTreeSet<&str> = crate::NAMES.iter().copied().collect();
        let missing: Vec<_> = all.difference(&seen).collect();
        assert!(missing.is_empty(), "no signature: {missing:?}");
        let extra: Vec<_> = seen.difference(&all).collect();
        assert!(extra.is_empty(), "unknown: {extra:?}");
    }

    #[test]
    fn install_defines_every_name() {
        let mut funcs = Funcs::new();
        crate::install(&mut funcs);
        for n in crate::NAMES {
            assert!(funcs.signature(n).is_some(), "{n}");
        }
        assert!(!funcs.contains("env") && !funcs.contains("expandenv"));
    }
}
