//! Go's `fmt` printing of [`Value`]s: `Sprint`, `Sprintln`, `Sprintf` with Go's verbs, flags, width,
//! precision, argument indexes and error markers (`%!d(string=x)`, `%!v(MISSING)`, `%!(EXTRA ...)`).

use crate::Value;
use crate::float::{format_float, shortest};

/// Go's `fmt.Sprint`: a space between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// Go's `fmt.Sprintln`: operands separated by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v');
    }
    p.buf.push('\n');
    p.buf
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::default();
    p.do_printf(format, args);
    p.buf
}

/// Appends Go's `%v` of `v` to `out`.
pub(crate) fn write_value(out: &mut String, v: &Value) {
    let mut p = Printer {
        buf: std::mem::take(out),
        ..Printer::default()
    };
    p.print_arg(v, 'v');
    *out = p.buf;
}

#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

#[derive(Default)]
struct Printer {
    buf: String,
    f: Flags,
    reordered: bool,
    good_arg_num: bool,
}

const TOO_LARGE: usize = 1_000_000;

fn parse_num(b: &[u8], mut i: usize, end: usize) -> (Option<usize>, usize) {
    if i >= end || !b[i].is_ascii_digit() {
        return (None, i);
    }
    let mut n = 0usize;
    while i < end && b[i].is_ascii_digit() {
        if n > TOO_LARGE {
            return (None, end);
        }
        n = n * 10 + (b[i] - b'0') as usize;
        i += 1;
    }
    (Some(n), i)
}

fn int_from_arg(args: &[Value], arg_num: usize) -> (Option<i64>, usize) {
    if arg_num < args.len() {
        let n = match &args[arg_num] {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            _ => None,
        };
        let n = n.filter(|n| n.unsigned_abs() <= TOO_LARGE as u64);
        (n, arg_num + 1)
    } else {
        (None, arg_num)
    }
}

impl Printer {
    fn arg_number(&mut self, arg_num: usize, b: &[u8], i: usize, num_args: usize) -> (usize, usize, bool) {
        if b.len() <= i || b[i] != b'[' {
            return (arg_num, i, false);
        }
        self.reordered = true;
        let rest = &b[i..];
        // parseArgNumber
        let (index, wid, ok) = {
            let mut res = (0i64, 1usize, false);
            if rest.len() >= 3 {
                for j in 1..rest.len() {
                    if rest[j] == b']' {
                        let (w, newi) = parse_num(rest, 1, j);
                        res = match w {
                            Some(w) if newi == j => (w as i64 - 1, j + 1, true),
                            _ => (0, j + 1, false),
                        };
                        break;
                    }
                }
            }
            res
        };
        if ok && index >= 0 && (index as usize) < num_args {
            return (index as usize, i + wid, true);
        }
        self.good_arg_num = false;
        (arg_num, i + wid, ok)
    }

    /// Go's `fmt.Sprintf` main loop, following fmt/print.go's doPrintf arm for arm so the two can be compared
    /// line by line (flags, width, precision, argument indexes, verbs, error markers).
    fn do_printf(&mut self, format: &str, args: &[Value]) {
        let b = format.as_bytes();
        let end = b.len();
        let mut arg_num = 0usize;
        let mut after_index;
        self.reordered = false;
        let mut i = 0;
        while i < end {
            self.good_arg_num = true;
            let lasti = i;
            while i < end && b[i] != b'%' {
                i += 1;
            }
            if i > lasti {
                self.buf.push_str(&format[lasti..i]);
            }
            if i >= end {
                break;
            }
            i += 1;
            self.f = Flags::default();
            while i < end {
                match b[i] {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = true,
                    b'+' => self.f.plus = true,
                    b'-' => self.f.minus = true,
                    b' ' => self.f.space = true,
                    _ => break,
                }
                i += 1;
            }
            (arg_num, i, after_index) = self.arg_number(arg_num, b, i, args.len());
            if i < end && b[i] == b'*' {
                i += 1;
                let (n, na) = int_from_arg(args, arg_num);
                arg_num = na;
                match n {
                    None => {
                        self.f.wid = None;
                        self.buf.push_str("%!(BADWIDTH)");
                    }
                    Some(n) if n < 0 => {
                        self.f.wid = Some(n.unsigned_abs() as usize);
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    Some(n) => self.f.wid = Some(n as usize),
                }
                after_index = false;
            } else {
                let (w, ni) = parse_num(b, i, end);
                self.f.wid = w;
                i = ni;
                if after_index && w.is_some() {
                    self.good_arg_num = false;
                }
            }
            if i + 1 < end && b[i] == b'.' {
                i += 1;
                if after_index {
                    self.good_arg_num = false;
                }
                (arg_num, i, after_index) = self.arg_number(arg_num, b, i, args.len());
                if i < end && b[i] == b'*' {
                    i += 1;
                    let (n, na) = int_from_arg(args, arg_num);
                    arg_num = na;
                    match n {
                        Some(n) if n >= 0 => self.f.prec = Some(n as usize),
                        Some(_) => self.f.prec = None,
                        None => {
                            self.f.prec = None;
                            self.buf.push_str("%!(BADPREC)");
                        }
                    }
                    after_index = false;
                } else {
                    let (p, ni) = parse_num(b, i, end);
                    i = ni;
                    self.f.prec = Some(p.unwrap_or(0));
                }
            }
            if !after_index {
                (arg_num, i, _) = self.arg_number(arg_num, b, i, args.len());
            }
            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            let verb = format[i..].chars().next().unwrap_or('%');
            i += verb.len_utf8();
            if verb == '%' {
                self.buf.push('%');
            } else if !self.good_arg_num {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(BADINDEX)");
            } else if arg_num >= args.len() {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(MISSING)");
            } else {
                if verb == 'v' {
                    self.f.sharp_v = self.f.sharp;
                    self.f.sharp = false;
                    self.f.plus_v = self.f.plus;
                    self.f.plus = false;
                }
                self.print_arg(&args[arg_num], verb);
                arg_num += 1;
            }
        }
        if !self.reordered && arg_num < args.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (k, arg) in args[arg_num..].iter().enumerate() {
                if k > 0 {
                    self.buf.push_str(", ");
                }
                if arg.is_nil() {
                    self.buf.push_str("<nil>");
                } else {
                    self.buf.push_str(arg.type_name());
                    self.buf.push('=');
                    self.print_arg(arg, 'v');
                }
            }
            self.buf.push(')');
        }
    }

    fn bad_verb(&mut self, verb: char, v: &Value) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        if v.is_nil() {
            self.buf.push_str("<nil>");
        } else {
            self.buf.push_str(v.type_name());
            self.buf.push('=');
            self.print_value(v, 'v', 0);
        }
        self.buf.push(')');
    }

    fn print_arg(&mut self, v: &Value, verb: char) {
        if v.is_nil() {
            match verb {
                'T' | 'v' => self.pad_str("<nil>"),
                _ => self.bad_verb(verb, v),
            }
            return;
        }
        if verb == 'T' {
            let t = v.type_name().to_string();
            self.fmt_s(&t);
            return;
        }
        if verb == 'p' {
            let addr = match v {
                Value::List(l) => Some(std::rc::Rc::as_ptr(l) as *const () as usize),
                Value::Map(m) => Some(std::rc::Rc::as_ptr(m) as *const () as usize),
                Value::Object(o) => Some(std::rc::Rc::as_ptr(o) as *const () as usize),
                _ => None,
            };
            if let Some(addr) = addr {
                // Go prints the address; it is not reproducible there either.
                let s = format!("0x{addr:x}");
                self.pad_str(&s);
            } else {
                self.bad_verb(verb, v);
            }
            return;
        }
        self.print_value(v, verb, 0);
    }

    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        match v {
            Value::Nil => {
                if depth == 0 {
                    self.print_arg(v, verb)
                } else {
                    self.buf.push_str("<nil>")
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad_str(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, v),
            },
            Value::Int(i) | Value::Int64(i) => self.fmt_int(*i, verb, v),
            Value::Float(x) => self.fmt_float_verb(*x, verb, v),
            Value::String(s) => self.fmt_string(s, verb, v),
            Value::Bytes(b) => self.fmt_bytes(b, verb, v, depth),
            Value::List(items) => {
                if self.f.sharp_v {
                    self.buf.push_str("[]interface {}{");
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.print_elem(item, verb, depth);
                    }
                    self.buf.push('}');
                } else {
                    self.buf.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(' ');
                        }
                        self.print_elem(item, verb, depth);
                    }
                    self.buf.push(']');
                }
            }
            Value::Map(m) => {
                let m = m.borrow();
                if self.f.sharp_v {
                    self.buf.push_str("map[string]interface {}{");
                } else {
                    self.buf.push_str("map[");
                }
                for (i, (k, val)) in m.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
                    }
                    self.fmt_string(k, verb, &Value::string(k.as_str()));
                    self.buf.push(':');
                    self.print_elem(val, verb, depth);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::Object(o) => match verb {
                'v' | 's' | 'x' | 'X' | 'q' => {
                    let s = o.display();
                    self.fmt_string(&s, verb, v)
                }
                _ => self.bad_verb(verb, v),
            },
        }
    }

    fn print_elem(&mut self, item: &Value, verb: char, depth: usize) {
        if item.is_nil() {
            if self.f.sharp_v {
                self.buf.push_str("interface {}(nil)");
            } else {
                self.buf.push_str("<nil>");
            }
        } else {
            self.print_value(item, verb, depth + 1);
        }
    }

    /// Pads `s` to the width (in runes), on the left unless `-`.
    fn pad_str(&mut self, s: &str) {
        let Some(wid) = self.f.wid else {
            self.buf.push_str(s);
            return;
        };
        let n = s.chars().count();
        if n >= wid {
            self.buf.push_str(s);
            return;
        }
        let pad = wid - n;
        if self.f.minus {
            self.buf.push_str(s);
            self.write_padding(pad);
        } else {
            self.write_padding(pad);
            self.buf.push_str(s);
        }
    }

    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero && !self.f.minus { '0' } else { ' ' };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        if let Some(p) = self.f.prec
            && let Some((i, _)) = s.char_indices().nth(p)
        {
            return &s[..i];
        }
        s
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad_str(s)
    }

    fn fmt_string(&mut self, s: &str, verb: char, v: &Value) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => self.fmt_s(s),
            'x' => self.fmt_sbx(s.as_bytes(), b"0123456789abcdefx"),
            'X' => self.fmt_sbx(s.as_bytes(), b"0123456789ABCDEFX"),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_bytes(&mut self, b: &[u8], verb: char, v: &Value, depth: usize) {
        match verb {
            'v' | 'd' => {
                if self.f.sharp_v {
                    self.buf.push_str("[]byte{");
                    for (i, c) in b.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.buf.push_str(&format!("0x{c:x}"));
                    }
                    self.buf.push('}');
                } else {
                    self.buf.push('[');
                    for (i, c) in b.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(' ');
                        }
                        self.fmt_int(i64::from(*c), verb, &Value::Int(i64::from(*c)));
                    }
                    self.buf.push(']');
                }
            }
            's' => {
                let s = String::from_utf8_lossy(b).into_owned();
                self.fmt_s(&s)
            }
            'x' => self.fmt_sbx(b, b"0123456789abcdefx"),
            'X' => self.fmt_sbx(b, b"0123456789ABCDEFX"),
            'q' => {
                let s = String::from_utf8_lossy(b).into_owned();
                self.fmt_q(&s)
            }
            _ => {
                let _ = depth;
                self.buf.push('[');
                for (i, c) in b.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(' ');
                    }
                    self.fmt_int(i64::from(*c), verb, &Value::Int(i64::from(*c)));
                }
                self.buf.push(']');
                let _ = v;
            }
        }
    }

    fn fmt_sbx(&mut self, b: &[u8], digits: &[u8; 17]) {
        let mut length = b.len();
        if let Some(p) = self.f.prec
            && p < length
        {
            length = p;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if let Some(w) = self.f.wid {
                self.write_padding(w);
            }
            return;
        }
        let wid = self.f.wid.unwrap_or(0);
        if wid > width && !self.f.minus {
            self.write_padding(wid - width);
        }
        if self.f.sharp {
            self.buf.push('0');
            self.buf.push(digits[16] as char);
        }
        for (i, c) in b[..length].iter().enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push('0');
                    self.buf.push(digits[16] as char);
                }
            }
            self.buf.push(digits[(c >> 4) as usize] as char);
            self.buf.push(digits[(c & 0xf) as usize] as char);
        }
        if wid > width && self.f.minus {
            self.write_padding(wid - width);
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(s) {
            let q = format!("`{s}`");
            self.pad_str(&q);
        } else {
            let q = quote(s, self.f.plus);
            self.pad_str(&q);
        }
    }

    fn fmt_int(&mut self, i: i64, verb: char, v: &Value) {
        let neg = i < 0;
        let u = i.unsigned_abs();
        match verb {
            'v' | 'd' => self.fmt_integer(u, neg, 10, verb, false),
            'b' => self.fmt_integer(u, neg, 2, verb, false),
            'o' | 'O' => self.fmt_integer(u, neg, 8, verb, false),
            'x' => self.fmt_integer(u, neg, 16, verb, false),
            'X' => self.fmt_integer(u, neg, 16, verb, true),
            'c' => {
                let c = if neg { '\u{FFFD}' } else { char_of(u) };
                self.pad_str(&c.to_string());
            }
            'q' => {
                let c = if neg { '\u{FFFD}' } else { char_of(u) };
                let q = quote_rune(c, self.f.plus);
                self.pad_str(&q);
            }
            'U' => {
                let prec = self.f.prec.filter(|p| *p > 4).unwrap_or(4);
                let mut s = format!("U+{:0prec$X}", u as i64 * if neg { -1 } else { 1 });
                if neg {
                    s = format!("U+{:0prec$X}", i as u64);
                }
                if self.f.sharp && !neg && u <= 0x10FFFF {
                    let c = char_of(u);
                    if is_print(c) {
                        s.push_str(&format!(" '{c}'"));
                    }
                }
                let saved = self.f.zero;
                self.f.zero = false;
                self.pad_str(&s);
                self.f.zero = saved;
            }
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_integer(&mut self, u: u64, neg: bool, base: u64, verb: char, upper: bool) {
        let digits: &[u8] = if upper {
            b"0123456789ABCDEFX"
        } else {
            b"0123456789abcdefx"
        };
        let mut prec = 0usize;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let saved = self.f.zero;
                self.f.zero = false;
                if let Some(w) = self.f.wid {
                    self.write_padding(w);
                }
                self.f.zero = saved;
                return;
            }
        } else if self.f.zero
            && !self.f.minus
            && let Some(w) = self.f.wid
        {
            prec = w;
            if neg || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut out: Vec<u8> = Vec::with_capacity(24);
        let mut n = u;
        loop {
            out.push(digits[(n % base) as usize]);
            n /= base;
            if n == 0 {
                break;
            }
        }
        while prec > out.len() {
            out.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => {
                    out.push(b'b');
                    out.push(b'0');
                }
                8 if out.last() != Some(&b'0') => out.push(b'0'),
                16 => {
                    out.push(digits[16]);
                    out.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            out.push(b'o');
            out.push(b'0');
        }
        if neg {
            out.push(b'-');
        } else if self.f.plus {
            out.push(b'+');
        } else if self.f.space {
            out.push(b' ');
        }
        out.reverse();
        let s = String::from_utf8(out).unwrap_or_default();
        let saved = self.f.zero;
        self.f.zero = false;
        self.pad_str(&s);
        self.f.zero = saved;
    }

    fn fmt_float_verb(&mut self, x: f64, verb: char, v: &Value) {
        match verb {
            'v' => self.fmt_float(x, 'g', None),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float(x, verb, None),
            'f' | 'e' | 'E' | 'F' => self.fmt_float(x, verb, Some(6)),
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_float(&mut self, x: f64, verb: char, prec: Option<usize>) {
        let prec = self.f.prec.or(prec);
        let mut num = format_float(x, verb, prec);
        if !(num.starts_with('-') || num.starts_with('+')) {
            num.insert(0, '+');
        }
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        let second = num.as_bytes().get(1).copied();
        if second == Some(b'I') || second == Some(b'N') {
            let saved = self.f.zero;
            self.f.zero = false;
            if second == Some(b'N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad_str(&num);
            self.f.zero = saved;
            return;
        }
        if self.f.sharp && verb != 'b' {
            num = sharp_float(num, verb, prec);
        }
        if self.f.plus || !num.starts_with('+') {
            if self.f.zero
                && !self.f.minus
                && let Some(w) = self.f.wid
                && w > num.len()
            {
                self.buf.push_str(&num[..1]);
                self.write_padding(w - num.len());
                self.buf.push_str(&num[1..]);
                return;
            }
            self.pad_str(&num);
            return;
        }
        self.pad_str(&num[1..]);
    }
}

fn sharp_float(num: String, verb: char, prec: Option<usize>) -> String {
    let mut digits: i64 = match verb {
        'v' | 'g' | 'G' | 'x' => prec.map(|p| p as i64).unwrap_or(6),
        _ => 0,
    };
    let mut body: String = num.clone();
    let mut tail = String::new();
    let mut has_point = false;
    let mut saw_nonzero = false;
    for (i, c) in num.char_indices().skip(1) {
        match c {
            '.' => has_point = true,
            'p' | 'P' => {
                tail = num[i..].to_string();
                body = num[..i].to_string();
                break;
            }
            'e' | 'E' if verb != 'x' && verb != 'X' => {
                tail = num[i..].to_string();
                body = num[..i].to_string();
                break;
            }
            _ => {
                if c != '0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
            }
        }
    }
    if !has_point {
        if body.len() == 2 && body.ends_with('0') {
            digits -= 1;
        }
        body.push('.');
    }
    while digits > 0 {
        body.push('0');
        digits -= 1;
    }
    body + &tail
}

fn char_of(u: u64) -> char {
    u32::try_from(u)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}')
}

/// Go's `strconv.IsPrint`, approximated with Rust's character classes.
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF | 0xFFFE | 0xFFFF
        | 0xF0000..=0x10FFFF | 0xE0000..=0xE007F)
}

fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control()) && c != '\u{FFFD}')
}

fn escape_rune(out: &mut String, c: char, quote: char, ascii: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if ascii {
        if (c as u32) < 0x80 && is_print(c) {
            out.push(c);
            return;
        }
    } else if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's `strconv.Quote` (`ascii`: `QuoteToASCII`).
pub fn quote(s: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        escape_rune(&mut out, c, '"', ascii);
    }
    out.push('"');
    out
}

/// Go's `strconv.QuoteRune`.
pub fn quote_rune(c: char, ascii: bool) -> String {
    let mut out = String::from("'");
    escape_rune(&mut out, c, '\'', ascii);
    out.push('\'');
    out
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): `1e+06`, `1.5`, `100`.
pub fn format_float_v(x: f64) -> String {
    if x.is_finite() {
        let (digits, dp) = shortest(x);
        crate::float::format_g(x.is_sign_negative(), &digits, dp, None)
    } else {
        format_float(x, 'g', None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::string(x)
    }

    #[test]
    fn floats_print_as_go() {
        assert_eq!(format_float_v(1_000_000.0), "1e+06");
        assert_eq!(format_float_v(100000.0), "100000");
        assert_eq!(format_float_v(1.5), "1.5");
        assert_eq!(format_float_v(100.0), "100");
        assert_eq!(format_float_v(-0.0), "-0");
        assert_eq!(format_float_v(0.0001), "0.0001");
        assert_eq!(format_float_v(0.00001), "1e-05");
        assert_eq!(format_float_v(1234567.0), "1.234567e+06");
        assert_eq!(format_float_v(1e21), "1e+21");
        assert_eq!(format_float_v(f64::INFINITY), "+Inf");
    }

    #[test]
    fn printf_verbs() {
        assert_eq!(
            sprintf(
                "%d|%5d|%-5d|%05d|%+d",
                &[
                    Value::Int(3),
                    Value::Int(3),
                    Value::Int(3),
                    Value::Int(-3),
                    Value::Int(3)
                ]
            ),
            "3|    3|3    |-0003|+3"
        );
        assert_eq!(
            sprintf(
                "%x %X %o %O %b %#x",
                &[
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(8),
                    Value::Int(5),
                    Value::Int(255)
                ]
            ),
            "ff FF 10 0o10 101 0xff"
        );
        assert_eq!(
            sprintf(
                "%.2f %e %g %G",
                &[
                    Value::Float(3.14158),
                    Value::Float(1234.5678),
                    Value::Float(0.000012345),
                    Value::Float(1e21)
                ]
            ),
            "3.14 1.234568e+03 1.2345e-05 1E+21"
        );
        assert_eq!(
            sprintf("%s %q %v %x", &[s("a"), s("b\n"), s("c"), s("hi")]),
            "a \"b\\n\" c 6869"
        );
        assert_eq!(sprintf("%d", &[s("x")]), "%!d(string=x)");
        assert_eq!(sprintf("%s %s", &[s("x")]), "x %!s(MISSING)");
        assert_eq!(
            sprintf("%s", &[s("x"), Value::Int(1), Value::Nil]),
            "x%!(EXTRA int=1, <nil>)"
        );
        assert_eq!(sprintf("%v %d", &[Value::Nil, Value::Nil]), "<nil> %!d(<nil>)");
        assert_eq!(
            sprintf("%T %T %T", &[Value::Float(1.0), Value::list(vec![]), Value::Nil]),
            "float64 []interface {} <nil>"
        );
        assert_eq!(
            sprintf(
                "%%|%c|%U|%t",
                &[Value::Int(65), Value::Int(65), Value::Bool(true)]
            ),
            "%|A|U+0041|true"
        );
        assert_eq!(
            sprintf(
                "%6.2f|%-8s|%8s|%.2s",
                &[Value::Float(3.14158), s("ab"), s("ab"), s("abc")]
            ),
            "  3.14|ab      |      ab|ab"
        );
        assert_eq!(sprintf("%[2]d %[1]d", &[Value::Int(1), Value::Int(2)]), "2 1");
        assert_eq!(sprintf("%*d", &[Value::Int(4), Value::Int(2)]), "   2");
        assert_eq!(sprintf("%", &[]), "%!(NOVERB)");
        assert_eq!(sprintf("%z", &[Value::Int(1)]), "%!z(int=1)");
        assert_eq!(sprintf("%d", &[Value::Float(1e6)]), "%!d(float64=1e+06)");
    }

    #[test]
    fn composite_values() {
        let mut m = crate::Map::new();
        m.insert("b".into(), Value::Float(2.0));
        m.insert("a".into(), Value::list(vec![s("x"), Value::Nil]));
        assert_eq!(sprint(&[Value::map(m)]), "map[a:[x <nil>] b:2]");
        assert_eq!(
            sprint(&[Value::Int(1), Value::Int(2), s("a"), Value::Int(3)]),
            "1 2a3"
        );
        assert_eq!(sprintln(&[s("a"), Value::Int(1)]), "a 1\n");
        assert_eq!(
            sprintf("%d", &[Value::list(vec![Value::Int(1), s("a")])]),
            "[1 %!d(string=a)]"
        );
        assert_eq!(
            sprintf("%q", &[Value::list(vec![s("a"), s("b")])]),
            "[\"a\" \"b\"]"
        );
    }
}
