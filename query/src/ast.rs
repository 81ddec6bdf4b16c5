//! The spanned syntax trees of both grammars. Every node carries the [`Pos`] where it starts,
//! converted once from pest, so that every later error can name its `locations`.

use std::fmt;

/// A position in the source text, both 1-based (as GraphQL error `locations` are).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A name and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    /// The name.
    pub value: String,
    /// Where it starts.
    pub pos: Pos,
}

impl Name {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// A type reference: `T`, `[T]`, `T!`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeRef {
    /// A named type, nullable.
    Named(String),
    /// A list of the inner type, nullable.
    List(Box<TypeRef>),
    /// The inner type, never null.
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    /// The named type at the bottom of the wrappers.
    pub fn base(&self) -> &str {
        match self {
            TypeRef::Named(n) => n,
            TypeRef::List(t) | TypeRef::NonNull(t) => t.base(),
        }
    }

    /// Whether this is `T!`.
    pub fn is_non_null(&self) -> bool {
        matches!(self, TypeRef::NonNull(_))
    }

    /// The type without its outer `!`.
    pub fn nullable(&self) -> &TypeRef {
        match self {
            TypeRef::NonNull(t) => t,
            t => t,
        }
    }

    /// Whether the type (ignoring an outer `!`) is a list.
    pub fn is_list(&self) -> bool {
        matches!(self.nullable(), TypeRef::List(_))
    }

    /// Shorthand for `Named`.
    pub fn named(n: &str) -> TypeRef {
        TypeRef::Named(n.to_string())
    }

    /// Shorthand for `NonNull`.
    pub fn non_null(self) -> TypeRef {
        TypeRef::NonNull(Box::new(self))
    }

    /// Shorthand for `List`.
    pub fn list(self) -> TypeRef {
        TypeRef::List(Box::new(self))
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Named(n) => f.write_str(n),
            TypeRef::List(t) => write!(f, "[{t}]"),
            TypeRef::NonNull(t) => write!(f, "{t}!"),
        }
    }
}

/// An input value literal.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `$name`.
    Variable(String),
    /// An integer literal, kept as written until its type is known.
    Int(String),
    /// A float literal.
    Float(f64),
    /// A string (escapes and block indentation already resolved).
    String(String),
    /// `true` or `false`.
    Boolean(bool),
    /// `null`.
    Null,
    /// An enum member.
    Enum(String),
    /// `[...]`.
    List(Vec<Spanned<Value>>),
    /// `{...}`, fields in written order.
    Object(Vec<(Name, Spanned<Value>)>),
}

impl Value {
    /// The literal as GraphQL source text (what introspection's `defaultValue` shows).
    pub fn to_graphql(&self) -> String {
        match self {
            Value::Variable(v) => format!("${v}"),
            Value::Int(i) => i.clone(),
            Value::Float(x) => format!("{x:?}"),
            Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
            Value::Boolean(b) => b.to_string(),
            Value::Null => "null".into(),
            Value::Enum(e) => e.clone(),
            Value::List(items) => {
                format!("[{}]", items.iter().map(|i| i.node.to_graphql()).collect::<Vec<_>>().join(", "))
            }
            Value::Object(fields) => format!(
                "{{{}}}",
                fields
                    .iter()
                    .map(|(n, v)| format!("{}: {}", n.value, v.node.to_graphql()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// A short description of the literal's kind, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Value::Variable(v) => format!("${v}"),
            Value::Int(i) => i.clone(),
            Value::Float(x) => format!("{x}"),
            Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
            Value::Boolean(b) => b.to_string(),
            Value::Null => "null".into(),
            Value::Enum(e) => e.clone(),
            Value::List(_) => "a list".into(),
            Value::Object(_) => "an object".into(),
        }
    }
}

/// Something with a position.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    /// The thing.
    pub node: T,
    /// Where it starts.
    pub pos: Pos,
}

impl Spanned<Value> {
    /// The items of a list value, or the value alone: GraphQL's input coercion of one value
    /// where a list is expected.
    pub fn items(&self) -> Vec<&Spanned<Value>> {
        match &self.node {
            Value::List(items) => items.iter().collect(),
            _ => vec![self],
        }
    }
}

/// `@name(args)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Directive {
    /// Its name.
    pub name: Name,
    /// Its arguments in written order.
    pub arguments: Vec<Argument>,
    /// Where the `@` is.
    pub pos: Pos,
}

/// `name: value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Argument {
    /// The argument's name.
    pub name: Name,
    /// Its value.
    pub value: Spanned<Value>,
}

/// An executable document: operations and fragments in written order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    /// Operations.
    pub operations: Vec<Operation>,
    /// Fragment definitions.
    pub fragments: Vec<Fragment>,
    /// Type system definitions found in the document (never executable), by keyword position.
    pub type_system: Vec<Name>,
}

/// The kind of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationKind {
    /// `query` (or a bare selection set).
    Query,
    /// `mutation`.
    Mutation,
    /// `subscription`.
    Subscription,
}

impl OperationKind {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            OperationKind::Query => "query",
            OperationKind::Mutation => "mutation",
            OperationKind::Subscription => "subscription",
        }
    }
}

/// One operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// query, mutation or subscription.
    pub kind: OperationKind,
    /// Its name, if given.
    pub name: Option<Name>,
    /// Variable definitions.
    pub variables: Vec<VariableDefinition>,
    /// Directives on the operation.
    pub directives: Vec<Directive>,
    /// What it selects.
    pub selection_set: SelectionSet,
    /// Where it starts.
    pub pos: Pos,
}

/// `$name: Type = default @directives`.
#[derive(Clone, Debug, PartialEq)]
pub struct VariableDefinition {
    /// The name without `$`.
    pub name: Name,
    /// Its declared type.
    pub ty: TypeRef,
    /// Where the type is written.
    pub ty_pos: Pos,
    /// Default value.
    pub default: Option<Spanned<Value>>,
    /// Directives.
    pub directives: Vec<Directive>,
    /// Where the `$` is.
    pub pos: Pos,
}

/// `{ ... }`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SelectionSet {
    /// The selections in written order.
    pub items: Vec<Selection>,
    /// Where the `{` is.
    pub pos: Pos,
}

/// One selection.
#[derive(Clone, Debug, PartialEq)]
pub enum Selection {
    /// A field.
    Field(Field),
    /// `...Name`.
    FragmentSpread(FragmentSpread),
    /// `... on T { }` or `... { }`.
    InlineFragment(InlineFragment),
}

/// `alias: name(args) @dirs { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The alias, if any.
    pub alias: Option<Name>,
    /// The field name.
    pub name: Name,
    /// Arguments in written order.
    pub arguments: Vec<Argument>,
    /// Directives.
    pub directives: Vec<Directive>,
    /// Sub-selection (empty when absent).
    pub selection_set: SelectionSet,
    /// Where the field starts (its alias when given).
    pub pos: Pos,
}

impl Field {
    /// The key the field has in the response.
    pub fn response_key(&self) -> &str {
        self.alias.as_ref().map_or(&self.name.value, |a| &a.value)
    }

    /// The argument named `name`.
    pub fn argument(&self, name: &str) -> Option<&Argument> {
        self.arguments.iter().find(|a| a.name.value == name)
    }
}

/// `...Name @dirs`.
#[derive(Clone, Debug, PartialEq)]
pub struct FragmentSpread {
    /// The fragment's name.
    pub name: Name,
    /// Directives.
    pub directives: Vec<Directive>,
    /// Where the `...` is.
    pub pos: Pos,
}

/// `... on T @dirs { }`.
#[derive(Clone, Debug, PartialEq)]
pub struct InlineFragment {
    /// The type condition.
    pub type_condition: Option<Name>,
    /// Directives.
    pub directives: Vec<Directive>,
    /// What it selects.
    pub selection_set: SelectionSet,
    /// Where the `...` is.
    pub pos: Pos,
}

/// `fragment Name on T @dirs { }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Fragment {
    /// Its name.
    pub name: Name,
    /// The type condition.
    pub type_condition: Name,
    /// Directives.
    pub directives: Vec<Directive>,
    /// What it selects.
    pub selection_set: SelectionSet,
    /// Where `fragment` is.
    pub pos: Pos,
}

/// A schema document (SDL).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SchemaDocument {
    /// Definitions in written order.
    pub definitions: Vec<TypeDefinition>,
}

/// The kind of a type definition.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeDefinitionKind {
    /// `type T implements I { fields }`.
    Object {
        /// Implemented interfaces.
        implements: Vec<Name>,
        /// Fields.
        fields: Vec<FieldDefinition>,
    },
    /// `interface I { fields }`.
    Interface {
        /// Implemented interfaces.
        implements: Vec<Name>,
        /// Fields.
        fields: Vec<FieldDefinition>,
    },
    /// `enum E { A B }`.
    Enum {
        /// Members.
        values: Vec<EnumValueDefinition>,
    },
    /// `scalar S`.
    Scalar,
}

/// One definition of a schema document.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeDefinition {
    /// Its description.
    pub description: Option<String>,
    /// Its name.
    pub name: Name,
    /// Directives.
    pub directives: Vec<Directive>,
    /// What it defines.
    pub kind: TypeDefinitionKind,
    /// Where it starts.
    pub pos: Pos,
}

/// `name: Type @directives` in a type.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDefinition {
    /// Its description.
    pub description: Option<String>,
    /// Its name.
    pub name: Name,
    /// Its type.
    pub ty: TypeRef,
    /// Directives.
    pub directives: Vec<Directive>,
    /// Where it starts.
    pub pos: Pos,
}

/// An enum member.
#[derive(Clone, Debug, PartialEq)]
pub struct EnumValueDefinition {
    /// Its description.
    pub description: Option<String>,
    /// The member.
    pub name: Name,
    /// Directives.
    pub directives: Vec<Directive>,
}
