#![allow(clippy::unwrap_used, missing_docs)]
//! Mutations: each kind with exact answers (tests/cases/mutations.txt, run in order on one
//! database), one transaction per operation, and customer 360 built with mutations.

mod common;

use quiver_query::Database;
use serde_json::Value;

#[test]
fn mutation_cases() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(&common::fixture("people.graphql")).unwrap();
    common::run_cases("mutations.txt", &db);
}

fn q(db: &Database, query: &str) -> String {
    db.execute(query, &Value::Null).json().to_string()
}

#[test]
fn an_operation_is_one_transaction() {
    let (_d, db) = common::people();
    let before = q(&db, "{ queryPerson { id name } queryCompany { id name code } }");
    let r = q(
        &db,
        r#"mutation {
          a: addCompany(input: [{name: "New Co", code: 100}]) { numUids }
          b: updatePerson(input: {filter: {id: ["0x1"]}, set: {name: "Ada King"}}) { numUids }
          c: addPerson(input: [{name: "Clash", email: "bob@example.com"}]) { numUids }
        }"#,
    );
    assert_eq!(
        r,
        r#"{"data":{"a":null,"b":null,"c":null},"errors":[{"message":"id \"bob@example.com\" already exists for field email inside type Person","locations":[{"line":4,"column":11}],"path":["c","input",0]}]}"#
    );
    assert_eq!(q(&db, "{ queryPerson { id name } queryCompany { id name code } }"), before);
}

/// The customer-360 fixture's data as mutation variables: product references mapped to the
/// uids `addProduct` gave, every other explicit id dropped (mutations allocate uids).
fn customer_input(data: &Value, products: &serde_json::Map<String, Value>) -> Value {
    match data {
        Value::Object(m) => {
            if let (1, Some(Value::String(id))) = (m.len(), m.get("id"))
                && let Some(uid) = products.get(id)
            {
                return serde_json::json!({ "id": uid });
            }
            Value::Object(
                m.iter()
                    .filter(|(k, _)| *k != "id" && *k != "loyaltyProgram")
                    .map(|(k, v)| (k.clone(), customer_input(v, products)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| customer_input(i, products)).collect()),
        other => other.clone(),
    }
}

#[test]
fn customer360_built_with_mutations_answers_as_imported() {
    let fixture = |n: &str| {
        std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/customer360")
                .join(n),
        )
        .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(&fixture("schema.graphql")).unwrap();
    let data: Value = serde_json::from_str(&fixture("data.json")).unwrap();

    // Products first, then customers referencing them by id, everything else nested.
    let products: Vec<Value> =
        data["Product"].as_array().unwrap().iter().map(|p| customer_input(p, &Default::default())).collect();
    let r = db.execute(
        "mutation($p: [AddProductInput!]!) { addProduct(input: $p) { product { id } } }",
        &serde_json::json!({ "p": products }),
    );
    let added: Value = serde_json::from_str(r.json()).unwrap();
    let mut uids = serde_json::Map::new();
    for (given, made) in data["Product"]
        .as_array()
        .unwrap()
        .iter()
        .zip(added["data"]["addProduct"]["product"].as_array().unwrap())
    {
        uids.insert(given["id"].as_str().unwrap().to_string(), made["id"].clone());
    }
    let customers = customer_input(&data["Customer"], &uids);
    let r = db.execute(
        "mutation($c: [AddCustomerInput!]!) { addCustomer(input: $c) { customer { id name } numUids } }",
        &serde_json::json!({ "c": customers }),
    );
    let made: Value = serde_json::from_str(r.json()).unwrap();
    assert_eq!(made["data"]["addCustomer"]["numUids"], 2, "{}", r.json());
    let john = made["data"]["addCustomer"]["customer"][0]["id"].as_str().unwrap().to_string();

    // The article's query, by the new uid, answers exactly expected.json apart from that uid.
    let query = fixture("query.graphql").replace("0x28caba09", &john);
    let mut expected: Value = serde_json::from_str(&fixture("expected.json")).unwrap();
    expected["data"]["queryCustomer"][0]["id"] = Value::String(john.clone());
    assert_eq!(db.execute(&query, &Value::Null).json(), serde_json::to_string(&expected).unwrap());

    // Update the customer, delete an order and the review (the product's side of the inverse
    // edge goes with it): the answer changes exactly so.
    let r = db.execute(
        &format!(
            r#"mutation {{
              updateCustomer(input: {{filter: {{id: ["{john}"]}}, set: {{name: "John Q. Doe"}}}}) {{ numUids }}
              deleteOrder(filter: {{amount: {{eq: 20.25}}}}) {{ numUids }}
              deleteReview(filter: {{rating: {{eq: 5}}}}) {{ numUids }}
            }}"#
        ),
        &Value::Null,
    );
    assert_eq!(
        r.json(),
        r#"{"data":{"updateCustomer":{"numUids":1},"deleteOrder":{"numUids":1},"deleteReview":{"numUids":1}}}"#
    );
    let answer = &mut expected["data"]["queryCustomer"][0];
    answer["name"] = Value::String("John Q. Doe".into());
    answer["orders"].as_array_mut().unwrap().remove(0);
    answer["orders"][0]["products"][1]["reviews"] = serde_json::json!([]);
    assert_eq!(db.execute(&query, &Value::Null).json(), serde_json::to_string(&expected).unwrap());
}
