//! What a function takes and returns, as scripts and `help()` see it.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The type of a parameter or a result.
///
/// ```
/// use xxlang_plugin::Type;
/// assert_eq!(Type::Array(Box::new(Type::Int)).to_string(), "array<int>");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Type {
    /// No value: `null`.
    Null,
    /// `true` / `false`.
    Bool,
    /// A 64-bit signed int.
    Int,
    /// A 64-bit float.
    Float,
    /// A UTF-8 string.
    String,
    /// Raw bytes.
    Bytes,
    /// An array whose elements have this type ([`Type::Any`] when they may differ).
    Array(Box<Type>),
    /// A map from int, string or bool keys to values of any type.
    Map,
    /// Any value.
    Any,
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Null => f.write_str("null"),
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::String => f.write_str("string"),
            Type::Bytes => f.write_str("bytes"),
            Type::Array(elem) if **elem == Type::Any => f.write_str("array"),
            Type::Array(elem) => write!(f, "array<{elem}>"),
            Type::Map => f.write_str("map"),
            Type::Any => f.write_str("any"),
        }
    }
}

/// One parameter: an optional name (legacy plugins have none) and a type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Param {
    /// The parameter's name, when the plugin declares one.
    pub name: Option<String>,
    /// The parameter's type.
    pub ty: Type,
}

impl Param {
    /// A named parameter.
    ///
    /// ```
    /// use xxlang_plugin::{Param, Type};
    /// assert_eq!(Param::named("n", Type::Int).to_string(), "n: int");
    /// ```
    #[must_use]
    pub fn named(name: impl Into<String>, ty: Type) -> Self {
        Self {
            name: Some(name.into()),
            ty,
        }
    }

    /// A parameter without a name.
    ///
    /// ```
    /// use xxlang_plugin::{Param, Type};
    /// assert_eq!(Param::unnamed(Type::Int).to_string(), "int");
    /// ```
    #[must_use]
    pub fn unnamed(ty: Type) -> Self {
        Self { name: None, ty }
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name}: {}", self.ty),
            None => write!(f, "{}", self.ty),
        }
    }
}

/// A function's parameters, result and one-line doc.
///
/// `Display` prints the part after the name: `(n: int) -> int`.
///
/// ```
/// use xxlang_plugin::{Param, Signature, Type};
///
/// let sig = Signature::new(vec![Param::named("n", Type::Int)], Type::Bool)
///     .with_doc("Whether n is prime.");
/// assert_eq!(sig.to_string(), "(n: int) -> bool");
/// assert_eq!(sig.arity(), 1);
/// assert_eq!(sig.doc.as_deref(), Some("Whether n is prime."));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Signature {
    /// The parameters, in order.
    pub params: Vec<Param>,
    /// The result type ([`Type::Null`] when there is none).
    pub result: Type,
    /// A one-line description, when the plugin gives one.
    pub doc: Option<String>,
}

impl Signature {
    /// A signature without a doc.
    #[must_use]
    pub fn new(params: Vec<Param>, result: Type) -> Self {
        Self {
            params,
            result,
            doc: None,
        }
    }

    /// This signature with a one-line doc.
    #[must_use]
    pub fn with_doc(mut self, doc: impl Into<String>) -> Self {
        self.doc = Some(doc.into());
        self
    }

    /// The number of parameters.
    #[must_use]
    pub fn arity(&self) -> usize {
        self.params.len()
    }

    /// "1 argument (int)" / "2 arguments (a: int, b: int)" / "no arguments", for messages.
    pub(crate) fn describe_params(&self) -> String {
        let n = self.params.len();
        let mut s = match n {
            0 => return String::from("no arguments"),
            1 => String::from("1 argument ("),
            n => alloc::format!("{n} arguments ("),
        };
        for (i, p) in self.params.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&alloc::format!("{p}"));
        }
        s.push(')');
        s
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, p) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{p}")?;
        }
        write!(f, ") -> {}", self.result)
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`: what a script can write after `plugin.`.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
