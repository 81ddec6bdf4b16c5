#![allow(clippy::unwrap_used, missing_docs)]
//! Schemas: what is refused (with line and column), and how a new schema migrates stored data.

mod common;

use quiver_query::{Database, Error};
use serde_json::Value;

fn refused(sdl: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(sdl).unwrap_err().to_string()
}

#[test]
fn bad_schemas_are_refused_with_where_and_why() {
    let cases = [
        ("type A { a: Nope }", "schema error at 1:10: A.a: unknown type Nope"),
        ("type A { a: Int }\ntype A { b: Int }", "schema error at 2:6: A is defined twice (first at 1:6)"),
        ("type A { a: Int a: String }", "schema error at 1:17: A.a is declared twice"),
        ("type A { id: ID! other: ID }", "schema error at 1:18: A has more than one ID field"),
        ("type A { a: [[Int]] }", "schema error at 1:10: A.a: lists of lists are not supported"),
        (
            "type A { a: Int @search(by: [term]) }",
            "schema error at 1:17: A.a: @search(by: [term]) does not apply to a Int field",
        ),
        ("type A { a: Float @id }", "schema error at 1:10: A.a: @id needs a String or Int field"),
        ("type A { a: Int @unique }", "schema error at 1:17: A.a: directive @unique is not supported"),
        (
            "type A { b: B @hasInverse(field: a) } type B { x: Int }",
            "schema error at 1:10: A.b: @hasInverse names B.a, which does not exist",
        ),
        (
            "type A { b: B @hasInverse(field: x) } type B { x: Int }",
            "schema error at 1:10: A.b: @hasInverse names B.x, which is not an edge",
        ),
        (
            "type A { b: B @hasInverse(field: c) } type B { c: C } type C { x: Int }",
            "schema error at 1:10: A.b: B.c does not point back to A",
        ),
        (
            "scalar JSON",
            "schema error at 1:8: custom scalar JSON is not supported: use ID, String, Int, Float, Boolean, DateTime or an enum",
        ),
        ("type A implements B { a: Int }", "schema error at 1:19: unknown interface B"),
        (
            "interface I { a: Int } type A implements I { a: String }",
            "schema error at 1:46: A.a is String but interface I declares it Int",
        ),
        ("type A { }", "schema error at 1:1: A has no fields"),
        ("type __A { a: Int }", "schema error at 1:6: __A: names starting with __ are reserved"),
        (
            "type A { a: Int } type AFilter { b: Int }",
            "schema error at 1:19: AFilter clashes with a name the generated API needs; rename the type",
        ),
        (
            "interface I { a: Int } type A implements I { a: Int  b: B } type B { i: I @hasInverse(field: b) }",
            "schema error at 1:70: B.i: @hasInverse is not supported on an edge to an interface",
        ),
        ("type A { a: Int", "syntax error at 1:16: expected \"!\", a directive or a field definition"),
    ];
    for (sdl, want) in cases {
        assert_eq!(refused(sdl), want, "for {sdl}");
    }
}

fn q(db: &Database, query: &str) -> String {
    db.execute(query, &Value::Null).json().to_string()
}

#[test]
fn a_new_schema_migrates_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema("type P { id: ID!  name: String  age: Int  pal: P }").unwrap();
    db.import_json("p.json", r#"{"P": [{"id": "0x1", "name": "Ada Lovelace", "age": 36, "pal": {"id": "0x2"}}, {"id": "0x2", "name": "Bob"}]}"#)
        .unwrap();

    // Adding a field and an index: existing values become searchable.
    db.set_schema("type P { id: ID!  name: String @search(by: [term])  age: Int  pal: P  nick: String }")
        .unwrap();
    assert_eq!(
        q(&db, r#"{ queryP(filter: {name: {anyofterms: "lovelace"}}) { id nick } }"#),
        r#"{"data":{"queryP":[{"id":"0x1","nick":null}]}}"#
    );

    // Dropping or retyping a field that holds data needs force.
    let e = db.set_schema("type P { id: ID!  name: String  pal: P }").unwrap_err();
    assert!(matches!(e, Error::Migration(_)), "{e}");
    assert_eq!(e.to_string(), "schema change refused: P.age holds data; force the change to drop it");
    let e = db.set_schema("type P { id: ID!  name: String  age: String  pal: P }").unwrap_err();
    assert_eq!(e.to_string(), "schema change refused: P.age holds data; force the change to drop it");
    // The refused change left everything as it was.
    assert_eq!(
        q(&db, "{ getP(id: \"0x1\") { age pal { name } } }"),
        r#"{"data":{"getP":{"age":36,"pal":{"name":"Bob"}}}}"#
    );

    db.set_schema_forced("type P { id: ID!  name: String  age: String  pal: P }").unwrap();
    assert_eq!(q(&db, "{ getP(id: \"0x1\") { age } }"), r#"{"data":{"getP":{"age":null}}}"#);

    // An edge that changes target is dropped and made again (forced); an inverse pairs both sides.
    db.set_schema_forced("type P { id: ID!  name: String  pal: Q } type Q { id: ID! }").unwrap();
    assert_eq!(q(&db, "{ getP(id: \"0x1\") { pal { id } } }"), r#"{"data":{"getP":{"pal":null}}}"#);
    db.set_schema(
        "type P { id: ID!  name: String  pal: Q @hasInverse(field: pals) } type Q { id: ID!  pals: [P] }",
    )
    .unwrap();
    db.import_json("q.json", r#"{"Q": [{"id": "0x9", "pals": [{"id": "0x1"}, {"id": "0x2"}]}]}"#).unwrap();
    assert_eq!(
        q(&db, "{ queryP { id pal { id } } }"),
        r#"{"data":{"queryP":[{"id":"0x1","pal":{"id":"0x9"}},{"id":"0x2","pal":{"id":"0x9"}}]}}"#
    );

    // Dropping a type with nodes needs force too; the schema text is what `schema` returns.
    let last = "type Q { id: ID! }";
    assert!(db.set_schema(last).is_err());
    db.set_schema_forced(last).unwrap();
    assert_eq!(db.schema(), last);
    assert_eq!(q(&db, "{ queryQ { id } }"), r#"{"data":{"queryQ":[{"id":"0x9"}]}}"#);
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.schema(), last);
    assert_eq!(
        q(&db, "{ queryP { id } }"),
        r#"{"errors":[{"message":"Cannot query field \"queryP\" on type \"Query\".","locations":[{"line":1,"column":3}],"path":["queryP"]}]}"#
    );
}

#[test]
fn queries_before_any_schema_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(q(&db, "{ a }"), r#"{"errors":[{"message":"no schema: set one first (quiver schema set)"}]}"#);
    assert_eq!(
        db.import_json("x.json", "{}").unwrap_err().to_string(),
        "no schema: set one first (quiver schema set)"
    );
}

#[test]
fn types_that_point_at_each_other_are_dropped_together() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema("type A { id: ID!  b: B } type B { id: ID!  a: A  x: Int }").unwrap();
    db.import_json(
        "d.json",
        r#"{"A": [{"id": "0x1", "b": {"id": "0x2"}}], "B": [{"id": "0x2", "a": {"id": "0x1"}, "x": 1}]}"#,
    )
    .unwrap();
    assert_eq!(
        db.set_schema("type C { x: Int }").unwrap_err().to_string(),
        "schema change refused: A.b holds data; force the change to drop it"
    );
    db.set_schema_forced("type C { x: Int }").unwrap();
    assert_eq!(q(&db, "{ queryC { x } }"), r#"{"data":{"queryC":[]}}"#);
    assert_eq!(db.check().unwrap().problems, Vec::<String>::new());
}
