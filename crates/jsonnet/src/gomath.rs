//! Floating-point functions computed as Go's `math` package computes them on amd64, so go-jsonnet's digits come
//! out: `std.sin`, `std.cos`, `std.tan`, `std.asin`, `std.acos`, `std.atan`, `std.atan2` (pure Go there,
//! Cephes-derived polynomials), `std.exp` and `std.log` (Go's amd64 assembly: the same steps in the same order,
//! `exp` with fused multiply-adds when the processor has AVX and FMA, as Go decides at run time) and `std.pow`
//! (pure Go over those). The C library's versions differ in the last digit for some inputs (`std.tan(1)`,
//! `std.acos(0.5)`, a third of `std.pow`'s results). Trigonometric arguments of 2^29 and beyond, which Go reduces
//! with Payne-Hanek, use the platform's functions.

// The constants are written as Go's sources (and Cephes) give them, digits beyond a double's included.
#![allow(clippy::excessive_precision)]

use std::f64::consts::PI;

/// Below this, arguments are reduced by Cody-Waite with π/4 split in three parts (Go's `reduceThreshold`).
const REDUCE_THRESHOLD: f64 = (1u64 << 29) as f64;
const PI4A: f64 = 7.853_981_256_484_985_351_56e-1;
const PI4B: f64 = 3.774_894_707_930_798_176_68e-8;
const PI4C: f64 = 2.695_151_429_079_059_526_45e-15;

const SIN: [f64; 6] = [
    1.589_623_015_765_465_680_60e-10,
    -2.505_074_776_285_780_728_66e-8,
    2.755_731_362_138_572_452_13e-6,
    -1.984_126_982_958_953_859_96e-4,
    8.333_333_333_322_118_588_78e-3,
    -1.666_666_666_666_663_072_95e-1,
];
const COS: [f64; 6] = [
    -1.135_853_652_138_768_173_00e-11,
    2.087_570_084_197_473_167_78e-9,
    -2.755_731_417_929_673_881_12e-7,
    2.480_158_728_885_170_453_48e-5,
    -1.388_888_888_887_305_641_16e-3,
    4.166_666_666_666_659_292_18e-2,
];
const TAN_P: [f64; 3] = [
    -1.309_369_391_813_837_776_46e4,
    1.153_516_648_385_874_161_40e6,
    -1.795_652_519_764_848_779_88e7,
];
const TAN_Q: [f64; 5] = [
    1.0,
    1.368_129_634_706_929_546_78e4,
    -1.320_892_344_402_109_674_47e6,
    2.500_838_018_233_579_158_39e7,
    -5.386_957_559_294_546_298_81e7,
];

/// The octant of `x` (≥ 0, below [`REDUCE_THRESHOLD`]) made even, and `x` reduced into [-π/4, π/4].
fn reduce(x: f64) -> (u64, f64) {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let mut j = (x * (4.0 / PI)) as u64;
    #[allow(clippy::cast_precision_loss)]
    let mut y = j as f64;
    if j & 1 == 1 {
        j += 1;
        y += 1.0;
    }
    (j, ((x - y * PI4A) - y * PI4B) - y * PI4C)
}

fn sin_poly(z: f64, zz: f64) -> f64 {
    z + z * zz * (((((SIN[0] * zz + SIN[1]) * zz + SIN[2]) * zz + SIN[3]) * zz + SIN[4]) * zz + SIN[5])
}

fn cos_poly(zz: f64) -> f64 {
    1.0 - 0.5 * zz
        + zz * zz * (((((COS[0] * zz + COS[1]) * zz + COS[2]) * zz + COS[3]) * zz + COS[4]) * zz + COS[5])
}

/// Go's `math.Sin`.
pub(crate) fn sin(x: f64) -> f64 {
    if x == 0.0 || x.is_nan() {
        return x;
    }
    if x.is_infinite() {
        return f64::NAN;
    }
    let (mut sign, x) = (x < 0.0, x.abs());
    if x >= REDUCE_THRESHOLD {
        return if sign { -x.sin() } else { x.sin() };
    }
    let (j, z) = reduce(x);
    let mut j = j & 7;
    if j > 3 {
        sign = !sign;
        j -= 4;
    }
    let zz = z * z;
    let y = if j == 1 || j == 2 {
        cos_poly(zz)
    } else {
        sin_poly(z, zz)
    };
    if sign { -y } else { y }
}

/// Go's `math.Cos`.
pub(crate) fn cos(x: f64) -> f64 {
    if x.is_nan() || x.is_infinite() {
        return f64::NAN;
    }
    let x = x.abs();
    if x >= REDUCE_THRESHOLD {
        return x.cos();
    }
    let (j, z) = reduce(x);
    let mut j = j & 7;
    let mut sign = false;
    if j > 3 {
        j -= 4;
        sign = !sign;
    }
    if j > 1 {
        sign = !sign;
    }
    let zz = z * z;
    let y = if j == 1 || j == 2 {
        sin_poly(z, zz)
    } else {
        cos_poly(zz)
    };
    if sign { -y } else { y }
}

/// Go's `math.Tan`.
pub(crate) fn tan(x: f64) -> f64 {
    if x == 0.0 || x.is_nan() {
        return x;
    }
    if x.is_infinite() {
        return f64::NAN;
    }
    let (sign, x) = (x < 0.0, x.abs());
    if x >= REDUCE_THRESHOLD {
        return if sign { -x.tan() } else { x.tan() };
    }
    let (j, z) = reduce(x);
    let zz = z * z;
    let mut y = if zz > 1e-14 {
        z + z
            * (zz * ((TAN_P[0] * zz + TAN_P[1]) * zz + TAN_P[2])
                / ((((zz + TAN_Q[1]) * zz + TAN_Q[2]) * zz + TAN_Q[3]) * zz + TAN_Q[4]))
    } else {
        z
    };
    if j & 2 == 2 {
        y = -1.0 / y;
    }
    if sign { -y } else { y }
}

/// Go's `xatan`: arctangent of `x` in [0, 0.66].
fn xatan(x: f64) -> f64 {
    const P: [f64; 5] = [
        -8.750_608_600_031_904_122_785e-1,
        -1.615_753_718_733_365_076_637e1,
        -7.500_855_792_314_704_667_340e1,
        -1.228_866_684_490_136_173_410e2,
        -6.485_021_904_942_025_371_773e1,
    ];
    const Q: [f64; 5] = [
        2.485_846_490_142_306_297_962e1,
        1.650_270_098_316_988_542_046e2,
        4.328_810_604_912_902_668_951e2,
        4.853_903_996_359_136_964_868e2,
        1.945_506_571_482_613_964_425e2,
    ];
    let z = x * x;
    let z = z * ((((P[0] * z + P[1]) * z + P[2]) * z + P[3]) * z + P[4])
        / (((((z + Q[0]) * z + Q[1]) * z + Q[2]) * z + Q[3]) * z + Q[4]);
    x * z + x
}

/// Go's `satan`: arctangent of a non-negative `x`, reduced into [0, 0.66].
fn satan(x: f64) -> f64 {
    const MOREBITS: f64 = 6.123_233_995_736_765_886_130e-17;
    const TAN3PIO8: f64 = 2.414_213_562_373_095_048_80;
    if x <= 0.66 {
        return xatan(x);
    }
    if x > TAN3PIO8 {
        return PI / 2.0 - xatan(1.0 / x) + MOREBITS;
    }
    PI / 4.0 + xatan((x - 1.0) / (x + 1.0)) + 0.5 * MOREBITS
}

/// Go's `math.Atan`.
pub(crate) fn atan(x: f64) -> f64 {
    if x == 0.0 {
        return x;
    }
    if x > 0.0 { satan(x) } else { -satan(-x) }
}

/// Go's `math.Asin`.
pub(crate) fn asin(x: f64) -> f64 {
    if x == 0.0 {
        return x;
    }
    let (sign, x) = (x < 0.0, x.abs());
    if x > 1.0 {
        return f64::NAN;
    }
    let temp = (1.0 - x * x).sqrt();
    let temp = if x > 0.7 {
        PI / 2.0 - satan(temp / x)
    } else {
        satan(x / temp)
    };
    if sign { -temp } else { temp }
}

/// Go's `math.Acos`.
pub(crate) fn acos(x: f64) -> f64 {
    PI / 2.0 - asin(x)
}

/// Go's `math.Atan2`.
pub(crate) fn atan2(y: f64, x: f64) -> f64 {
    if y.is_nan() || x.is_nan() {
        return f64::NAN;
    }
    if y == 0.0 {
        return if x >= 0.0 && !x.is_sign_negative() {
            0f64.copysign(y)
        } else {
            PI.copysign(y)
        };
    }
    if x == 0.0 {
        return (PI / 2.0).copysign(y);
    }
    if x.is_infinite() {
        return if x > 0.0 {
            if y.is_infinite() {
                (PI / 4.0).copysign(y)
            } else {
                0f64.copysign(y)
            }
        } else if y.is_infinite() {
            (3.0 * PI / 4.0).copysign(y)
        } else {
            PI.copysign(y)
        };
    }
    if y.is_infinite() {
        return (PI / 2.0).copysign(y);
    }
    let q = atan(y / x);
    if x < 0.0 {
        if q <= 0.0 { q + PI } else { q - PI }
    } else {
        q
    }
}

/// Go's amd64 `math.Log` (its assembly, which reads the exponent from the bits without normalizing subnormals).
pub(crate) fn log(x: f64) -> f64 {
    const HSQRT2: f64 = std::f64::consts::FRAC_1_SQRT_2; // Go: 7.07106781186547524401e-01
    const LN2HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const L: [f64; 7] = [
        6.666_666_666_666_735_130e-1,
        3.999_999_999_940_941_908e-1,
        2.857_142_874_366_239_149e-1,
        2.222_219_843_214_978_396e-1,
        1.818_357_216_161_805_012e-1,
        1.531_383_769_920_937_332e-1,
        1.479_819_860_511_658_591e-1,
    ];
    let bits = x.to_bits();
    if bits & !(1 << 63) == 0 {
        return f64::NEG_INFINITY;
    }
    if x.is_sign_negative() {
        return f64::NAN;
    }
    if bits >= f64::INFINITY.to_bits() {
        return x;
    }
    let mut f1 = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0.5f64.to_bits());
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    let mut k = f64::from(((bits >> 52) & 0x7FF) as i32 - 0x3FE);
    if f1 <= HSQRT2 {
        k -= 1.0;
        f1 *= 2.0;
    }
    let f = f1 - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    let s4 = s2 * s2;
    let t1 = s2 * (((L[6] * s4 + L[4]) * s4 + L[2]) * s4 + L[0]);
    let t2 = s4 * ((L[5] * s4 + L[3]) * s4 + L[1]);
    let r = t1 + t2;
    let hfsq = 0.5 * f * f;
    k * LN2HI - ((hfsq - (s * (hfsq + r) + k * LN2LO)) - f)
}

/// Whether Go's amd64 `math.Exp` takes its fused multiply-add path on this processor.
fn exp_uses_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static FMA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *FMA.get_or_init(|| std::is_x86_feature_detected!("avx") && std::is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        true
    }
}

/// Go's amd64 `math.Exp` (its assembly: reduction by ln 2 in two parts, a Taylor series of x/16 squared back
/// four times).
pub(crate) fn exp(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2U: f64 = 0.693_147_180_559_662_956_511_601_805_686_950_683_593_75;
    const LN2L: f64 = 0.282_352_905_630_315_771_225_884_481_750_134_360_255_254_120_68e-12;
    const OVERFLOW: f64 = 7.097_827_128_933_84e2;
    const TAYLOR: [f64; 7] = [
        2.480_158_730_158_730_158_7e-5,
        1.984_126_984_126_984_127_0e-4,
        1.388_888_888_888_888_888_9e-3,
        8.333_333_333_333_333_333_3e-3,
        4.166_666_666_666_666_666_7e-2,
        1.666_666_666_666_666_666_7e-1,
        0.5,
    ];
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == f64::NEG_INFINITY {
        return 0.0;
    }
    if x > OVERFLOW {
        return f64::INFINITY;
    }
    // CVTSD2SL: rounded to nearest (ties to even); out of range gives i32::MIN, as `as` saturates below.
    #[allow(clippy::cast_possible_truncation)]
    let k = (x * LOG2E).round_ties_even() as i32;
    let kf = f64::from(k);
    let mut r;
    if exp_uses_fma() {
        r = (-kf).mul_add(LN2U, x);
        r = (-kf).mul_add(LN2L, r);
        r *= 0.0625;
        let mut p = TAYLOR[0];
        for c in &TAYLOR[1..] {
            p = p.mul_add(r, *c);
        }
        p = p.mul_add(r, 1.0);
        r *= p;
        for _ in 0..3 {
            r *= r + 2.0;
        }
        r = r.mul_add(r + 2.0, 1.0);
    } else {
        r = x - kf * LN2U;
        r -= kf * LN2L;
        r *= 0.0625;
        let mut p = TAYLOR[0];
        for c in &TAYLOR[1..] {
            p = p * r + *c;
        }
        p = p * r + 1.0;
        r *= p;
        for _ in 0..4 {
            r *= r + 2.0;
        }
        r += 1.0;
    }
    let biased = i64::from(k) + 0x3FF;
    if biased <= 0 {
        if biased < -52 {
            return 0.0;
        }
        #[allow(clippy::cast_sign_loss)]
        let scale = f64::from_bits(((biased + 0x3FE) as u64) << 52);
        return r * scale * f64::from_bits(1 << 52);
    }
    if biased >= 0x7FF {
        return f64::INFINITY;
    }
    #[allow(clippy::cast_sign_loss)]
    let scale = f64::from_bits((biased as u64) << 52);
    r * scale
}

/// Go's `math.Frexp`: `f = frac × 2^exp` with `frac` in [0.5, 1).
pub(crate) fn frexp(f: f64) -> (f64, i64) {
    if f == 0.0 || f.is_infinite() || f.is_nan() {
        return (f, 0);
    }
    let (f, mut exp) = normalize(f);
    let bits = f.to_bits();
    #[allow(clippy::cast_possible_wrap)]
    {
        exp += ((bits >> 52) & 0x7FF) as i64 - 1023 + 1;
    }
    let bits = (bits & !(0x7FF << 52)) | (1022 << 52);
    (f64::from_bits(bits), exp)
}

/// A subnormal made normal, with the exponent that undoes it.
fn normalize(x: f64) -> (f64, i64) {
    if x.abs() < f64::MIN_POSITIVE {
        return (x * (1u64 << 52) as f64, -52);
    }
    (x, 0)
}

/// Go's `math.Ldexp`: `frac × 2^exp`.
fn ldexp(frac: f64, exp: i64) -> f64 {
    if frac == 0.0 || frac.is_infinite() || frac.is_nan() {
        return frac;
    }
    let (frac, e) = normalize(frac);
    let mut exp = exp + e;
    let bits = frac.to_bits();
    #[allow(clippy::cast_possible_wrap)]
    {
        exp += ((bits >> 52) & 0x7FF) as i64 - 1023;
    }
    if exp < -1075 {
        return 0f64.copysign(frac);
    }
    if exp > 1023 {
        return f64::INFINITY.copysign(frac);
    }
    let mut m = 1.0;
    if exp < -1022 {
        exp += 53;
        m = 1.0 / (1u64 << 53) as f64;
    }
    #[allow(clippy::cast_sign_loss)]
    let bits = (bits & !(0x7FF << 52)) | (((exp + 1023) as u64) << 52);
    m * f64::from_bits(bits)
}

/// Whether `y` is an odd integer (Go's `isOddInt`).
fn is_odd_int(y: f64) -> bool {
    if y.abs() >= (1u64 << 53) as f64 {
        return false;
    }
    #[allow(clippy::cast_possible_truncation)]
    let odd = y.fract() == 0.0 && (y.trunc() as i64) & 1 == 1;
    odd
}

/// Go's `math.Pow`.
pub(crate) fn pow(x: f64, y: f64) -> f64 {
    if y == 0.0 || x == 1.0 {
        return 1.0;
    }
    if y == 1.0 {
        return x;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 {
        let odd = x.is_sign_negative() && is_odd_int(y);
        return if y < 0.0 {
            if odd { f64::NEG_INFINITY } else { f64::INFINITY }
        } else if odd {
            x
        } else {
            0.0
        };
    }
    if y.is_infinite() {
        return if x == -1.0 {
            1.0
        } else if (x.abs() < 1.0) == (y > 0.0) {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if x.is_infinite() {
        if x < 0.0 {
            return pow(1.0 / x, -y);
        }
        return if y < 0.0 { 0.0 } else { f64::INFINITY };
    }
    if y == 0.5 {
        return x.sqrt();
    }
    if y == -0.5 {
        return 1.0 / x.sqrt();
    }
    let (mut yi, mut yf) = (y.abs().trunc(), y.abs().fract());
    if yf != 0.0 && x < 0.0 {
        return f64::NAN;
    }
    if yi >= 9.223_372_036_854_775_808e18 {
        return if x == -1.0 {
            1.0
        } else if (x.abs() < 1.0) == (y > 0.0) {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let mut a1 = 1.0;
    let mut ae: i64 = 0;
    if yf != 0.0 {
        if yf > 0.5 {
            yf -= 1.0;
            yi += 1.0;
        }
        a1 = exp(yf * log(x));
    }
    let (mut x1, mut xe) = frexp(x);
    #[allow(clippy::cast_possible_truncation)]
    let mut i = yi as i64;
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }
    if y < 0.0 {
        a1 = 1.0 / a1;
        ae = -ae;
    }
    ldexp(a1, ae)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by Go's `math` package (`fmt.Println(math.Tan(1))`, ...).
    #[test]
    fn digits_are_go_s() {
        assert_eq!(tan(1.0), 1.557_407_724_654_902_1);
        assert_eq!(acos(0.5), 1.047_197_551_196_597_6);
        assert_eq!(sin(0.0), 0.0);
        assert!(tan(f64::INFINITY).is_nan());
        assert_eq!(atan2(0.0, -1.0), PI);
        assert_eq!(atan2(-0.0, 1.0).to_bits(), (-0.0f64).to_bits());
    }
}
