//! Reflection: `typeOf`, `typeIs`, `typeIsLike`, `kindOf`, `kindIs`, `deepEqual`.

use tack_gotemplate::{Funcs, Value};

use crate::convert::{arity, deep_equal, kind_name, str_arg, type_name};

pub fn register(funcs: &mut Funcs) {
    funcs.insert("typeOf", |_, a| {
        arity("typeOf", a, 1)?;
        Ok(Value::string(type_name(&a[0])))
    });
    funcs.insert("typeIs", |_, a| {
        arity("typeIs", a, 2)?;
        Ok(Value::Bool(*str_arg(&a[0])? == *type_name(&a[1])))
    });
    funcs.insert("typeIsLike", |_, a| {
        arity("typeIsLike", a, 2)?;
        let (want, t) = (str_arg(&a[0])?, type_name(&a[1]));
        Ok(Value::Bool(*want == *t || format!("*{want}") == t))
    });
    funcs.insert("kindOf", |_, a| {
        arity("kindOf", a, 1)?;
        Ok(Value::string(kind_name(&a[0])))
    });
    funcs.insert("kindIs", |_, a| {
        arity("kindIs", a, 2)?;
        Ok(Value::Bool(*str_arg(&a[0])? == *kind_name(&a[1])))
    });
    funcs.insert("deepEqual", |_, a| {
        arity("deepEqual", a, 2)?;
        Ok(Value::Bool(deep_equal(&a[0], &a[1])))
    });
}
