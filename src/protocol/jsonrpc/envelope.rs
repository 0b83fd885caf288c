//! The JSON-RPC 2.0 envelope: reading an `invoke` request, and writing a result or a
//! transport fault around it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::input::{self, Fields};
use super::object::Object;
use super::typed::untyped;

/// -32700: the body is not JSON.
pub(crate) const PARSE_ERROR: i64 = -32700;
/// -32600: JSON, but not a JSON-RPC `invoke` request.
pub(crate) const INVALID_REQUEST: i64 = -32600;
/// -32601: a method other than `invoke`.
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
/// -32602: an input without the operation's key fields.
pub(crate) const INVALID_PARAMS: i64 = -32602;

/// A request id: a string, a number or null, kept as the JSON text the client wrote and
/// echoed byte for byte (the SDK matches the string `"0"`, not the number `0`; an id
/// `1E2` read as a number would come back `100.0`, a big integer rounded, an escaped
/// string unescaped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RpcId(Cow<'static, str>);

impl Default for RpcId {
    fn default() -> Self {
        RpcId::NULL
    }
}

impl RpcId {
    /// The id of a request that has none, or could not be read.
    pub(crate) const NULL: RpcId = RpcId(Cow::Borrowed("null"));

    /// The id written as `raw`, when it is a string, a number or null.
    fn from_raw(raw: &RawValue) -> Option<RpcId> {
        let text = raw.get();
        let plain = match text.as_bytes().first() {
            // Escapes checked as a JSON value reads them (a lone surrogate is refused
            // there); skipping the value to take it raw did not check them.
            Some(b'"') => !text.contains('\\') || serde_json::from_str::<String>(text).is_ok(),
            // As a JSON value reads it: `1e400` is out of range there, so a fault.
            Some(b'-' | b'0'..=b'9') => serde_json::from_str::<serde_json::Number>(text).is_ok(),
            _ => text == "null",
        };
        plain.then(|| RpcId(Cow::Owned(text.to_owned())))
    }

    /// The id of a request read as a JSON object, `raw` being the same object's members
    /// as written (a repeated member counts as its last, as in `request`).
    fn of(
        request: &Map<String, Value>,
        raw: Option<&BTreeMap<String, Box<RawValue>>>,
    ) -> Result<RpcId, &'static str> {
        let written = || {
            raw.and_then(|raw| raw.get("id"))
                .and_then(|id| RpcId::from_raw(id))
        };
        match request.get("id") {
            None => Ok(RpcId::NULL),
            Some(Value::String(_) | Value::Number(_) | Value::Null) => {
                Ok(written().unwrap_or(RpcId::NULL))
            }
            Some(_) => Err("the id must be a string, a number or null"),
        }
    }

    /// The id's JSON text, as the client wrote it.
    pub(crate) fn as_json(&self) -> &str {
        &self.0
    }

    fn raw(&self) -> &RawValue {
        serde_json::from_str(&self.0).expect("an id is the JSON text of a value")
    }
}

/// A JSON-RPC `invoke` of one vAPI operation, its names borrowed from the body where
/// they are written without escapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Invoke<'a> {
    pub(crate) id: RpcId,
    pub(crate) service: Cow<'a, str>,
    pub(crate) operation: Cow<'a, str>,
    /// `params.input`'s fields as plain values (none when it is absent or null), or what
    /// is wrong with it.
    pub(crate) input: Fields,
    pub(crate) security: Security,
}

/// What `params.ctx.securityCtx` carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Security {
    None,
    /// A login: `userName` and `password`.
    UserPass {
        user: String,
        password: String,
    },
    /// A session token.
    Session(String),
}

/// A transport-level error: the request is not a call dsvcr can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    pub(crate) id: RpcId,
    pub(crate) code: i64,
    pub(crate) message: String,
}

impl Fault {
    pub(crate) fn new(id: RpcId, code: i64, message: impl Into<String>) -> Self {
        Fault {
            id,
            code,
            message: message.into(),
        }
    }

    /// `{"error":{"code":…,"message":…},"id":…,"jsonrpc":"2.0"}`, the id as the client
    /// wrote it.
    pub(crate) fn body(&self) -> Bytes {
        #[derive(Serialize)]
        struct Body<'a> {
            error: Error<'a>,
            id: &'a RawValue,
            jsonrpc: &'static str,
        }
        #[derive(Serialize)]
        struct Error<'a> {
            code: i64,
            message: &'a str,
        }
        let body = Body {
            error: Error {
                code: self.code,
                message: &self.message,
            },
            id: self.id.raw(),
            jsonrpc: "2.0",
        };
        Bytes::from(serde_json::to_vec(&body).expect("faults serialise"))
    }
}

/// Reads an `invoke` request.
pub(crate) fn parse(body: &[u8]) -> Result<Invoke<'_>, Fault> {
    // A well-formed invoke is read into borrowed fields; anything else (a fault to
    // explain, duplicate keys, escaped names) takes the general path, whose answers are
    // the reference.
    // Checked once here, so that the reading borrows its strings without checking each.
    let Ok(text) = std::str::from_utf8(body) else {
        return parse_value(body);
    };
    match serde_json::from_str::<Object<Plain<'_>>>(text) {
        Ok(Object(plain)) => plain.invoke().map_or_else(|| parse_value(body), Ok),
        Err(_) => parse_value(body),
    }
}

/// An `invoke` as it usually arrives, fields borrowed from the body where they can be.
/// A member it does not know sends the body to the general reading: skipping a value
/// unread would let through a number no JSON value holds, which the general reading
/// refuses.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Plain<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    params: Object<PlainParams<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainParams<'a> {
    #[serde(rename = "serviceId", borrow)]
    service: Cow<'a, str>,
    #[serde(rename = "operationId", borrow)]
    operation: Cow<'a, str>,
    #[serde(default)]
    input: Option<input::Structure>,
    #[serde(default)]
    ctx: Option<Object<PlainContext>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainContext {
    #[serde(rename = "securityCtx", default)]
    security: Option<Value>,
    /// The application context (an operation id, a locale): read, never used.
    #[serde(rename = "appCtx", default)]
    #[allow(dead_code)]
    app: Option<input::Checked>,
}

impl<'a> Plain<'a> {
    /// The invoke, when it is one the general path would accept as it is.
    fn invoke(self) -> Option<Invoke<'a>> {
        // `null` reads as no id.
        let id = match self.id {
            None => RpcId::NULL,
            Some(raw) => RpcId::from_raw(raw)?,
        };
        if self.jsonrpc != "2.0" || self.method != "invoke" {
            return None;
        }
        let Object(params) = self.params;
        let input = Ok(params
            .input
            .map(input::Structure::into_fields)
            .unwrap_or_default());
        let context = params.ctx.and_then(|Object(ctx)| ctx.security);
        Some(Invoke {
            id,
            service: params.service,
            operation: params.operation,
            input,
            security: security_of(context),
        })
    }
}

/// Reads an `invoke` request into a JSON value first: every fault is explained here.
fn parse_value(body: &[u8]) -> Result<Invoke<'static>, Fault> {
    let request: Value = serde_json::from_slice(body).map_err(|err| {
        Fault::new(
            RpcId::NULL,
            PARSE_ERROR,
            format!("the body is not JSON: {err}"),
        )
    })?;
    let Value::Object(request) = request else {
        return Err(invalid(RpcId::NULL, "the request must be a JSON object"));
    };
    let written: Option<BTreeMap<String, Box<RawValue>>> = serde_json::from_slice(body).ok();
    let id =
        RpcId::of(&request, written.as_ref()).map_err(|problem| invalid(RpcId::NULL, problem))?;
    if request.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(id, "\"jsonrpc\" must be \"2.0\""));
    }
    match request.get("method") {
        Some(Value::String(method)) if method == "invoke" => {}
        Some(Value::String(method)) => {
            return Err(Fault::new(
                id,
                METHOD_NOT_FOUND,
                format!("unknown method {method:?}: vAPI calls use \"invoke\""),
            ))
        }
        _ => return Err(invalid(id, "\"method\" must be a string")),
    }
    let params = request.get("params").and_then(Value::as_object);
    let text = |name: &str| {
        params
            .and_then(|params| params.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (Some(service), Some(operation)) = (text("serviceId"), text("operationId")) else {
        return Err(invalid(
            id,
            "params must name the serviceId and operationId as strings",
        ));
    };
    let params = params.expect("serviceId was read from params");
    Ok(Invoke {
        id,
        service: Cow::Owned(service),
        operation: Cow::Owned(operation),
        input: input::of_value(params.get("input").unwrap_or(&Value::Null)),
        security: security(params),
    })
}

/// Whether the direct reading of `body` gives what the general reading gives, the invoke
/// or the fault: the jsonrpc fuzz target's differential property.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn reads_alike(body: &[u8]) -> bool {
    parse(body) == parse_value(body)
}

fn invalid(id: RpcId, problem: &str) -> Fault {
    Fault::new(
        id,
        INVALID_REQUEST,
        format!("not a JSON-RPC 2.0 invoke request: {problem}"),
    )
}

fn security(params: &Map<String, Value>) -> Security {
    security_of(
        params
            .get("ctx")
            .and_then(|ctx| ctx.get("securityCtx"))
            .cloned(),
    )
}

/// What a `securityCtx` holds.
fn security_of(context: Option<Value>) -> Security {
    let Some(context) = context.map(untyped) else {
        return Security::None;
    };
    let text = |name: &str| context.get(name).and_then(Value::as_str).map(str::to_owned);
    if let Some(token) = text("sessionId") {
        return Security::Session(token);
    }
    match (text("userName"), text("password")) {
        (Some(user), Some(password)) => Security::UserPass { user, password },
        _ => Security::None,
    }
}

/// `{"jsonrpc":"2.0","id":…,"result":RESULT}` around an already written result, the id
/// as the client wrote it.
pub(crate) fn enveloped(id: &RpcId, result: &[u8]) -> Bytes {
    const HEAD: &[u8] = b"{\"jsonrpc\":\"2.0\",\"id\":";
    const RESULT: &[u8] = b",\"result\":";
    let id = id.as_json().as_bytes();
    let mut body = Vec::with_capacity(HEAD.len() + id.len() + RESULT.len() + result.len() + 1);
    body.extend_from_slice(HEAD);
    body.extend_from_slice(id);
    body.extend_from_slice(RESULT);
    body.extend_from_slice(result);
    body.push(b'}');
    Bytes::from(body)
}

/// An upstream's JSON-RPC response `answer` with its `id` member replaced by `id` as the
/// client wrote it, every other byte kept; `None` when `answer` is not a response object
/// with one `id` and a `jsonrpc` member, or already holds that id.
pub(crate) fn with_id(answer: &[u8], id: &RpcId) -> Option<Bytes> {
    #[derive(Deserialize)]
    struct Response<'a> {
        #[serde(borrow)]
        id: &'a RawValue,
        #[allow(dead_code)]
        jsonrpc: serde::de::IgnoredAny,
    }
    let response: Response<'_> = serde_json::from_slice(answer).ok()?;
    let written = response.id.get();
    if written == id.as_json() {
        return None;
    }
    // The id's text lies inside `answer`, which it was read from without a copy.
    let start = (written.as_ptr() as usize).checked_sub(answer.as_ptr() as usize)?;
    let end = start + written.len();
    if answer.get(start..end)? != written.as_bytes() {
        return None;
    }
    let mut body = Vec::with_capacity(answer.len() + id.as_json().len());
    body.extend_from_slice(&answer[..start]);
    body.extend_from_slice(id.as_json().as_bytes());
    body.extend_from_slice(&answer[end..]);
    Some(Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The id written as `text`.
    fn id(text: &'static str) -> RpcId {
        RpcId(Cow::Borrowed(text))
    }

    fn invoke(ctx: Value) -> Vec<u8> {
        json!({"jsonrpc":"2.0","method":"invoke","id":"7","params":{
            "serviceId":"s","operationId":"o","input":{"STRUCTURE":{"operation-input":{}}},"ctx":ctx}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn the_borrowed_reading_agrees_with_the_general_one() {
        let bodies = [
            r#"{"jsonrpc":"2.0","method":"invoke","id":"0","params":{"serviceId":"s","operationId":"o","input":{"STRUCTURE":{"operation-input":{"download_session_id":"obj-1"}}},"ctx":{"appCtx":{"opId":"x"}}}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":7,"params":{"serviceId":"s","operationId":"o"}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","params":{"serviceId":"s","operationId":"o","ctx":null,"input":null}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":null,"params":{"serviceId":"s","operationId":"o","ctx":{"securityCtx":{"schemeId":"x","sessionId":"t"}}}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1","params":{"serviceId":"s","operationId":"o","ctx":{"securityCtx":{"userName":"u","password":"p"}}}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1","params":{"serviceId":"s","operationId":"o","ctx":{"securityCtx":null}}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1","params":{"serviceId":"s","operationId":"o","ctx":{"securityCtx":"text"}}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1","params":{"serviceId":"s","operationId":"o","ctx":5}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1","params":{"serviceId":"s!","operationId":"o"}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1","id":"2","params":{"serviceId":"s","operationId":"o"}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":{"no":1},"params":{"serviceId":"s","operationId":"o"}}"#,
            r#"{"jsonrpc":"1.0","method":"invoke","id":"1","params":{"serviceId":"s","operationId":"o"}}"#,
            r#"{"jsonrpc":"2.0","method":"call","id":"1","params":{"serviceId":"s","operationId":"o"}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1","params":{"serviceId":1,"operationId":"o"}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1","params":[]}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1"}"#,
            r#"{"jsonrpc":2,"method":"invoke","id":"1","params":{"serviceId":"s","operationId":"o"}}"#,
            // Found by the jsonrpc fuzz target: a member read only to be skipped held a
            // number no JSON value holds, which the general reading refuses.
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1","params":{"serviceId":"s","operationId":"o","inpjs":{"c":5e400}}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1","params":{"serviceId":"s","operationId":"o","ctx":{"appCtx":{"n":[1,5e400]}}}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1","extra":-1e999,"params":{"serviceId":"s","operationId":"o"}}"#,
            r#"{"jsonrpc":"2.0","method":"invoke","id":"1","params":{"serviceId":"s","operationId":"o","ctx":{"appCtx":{"opId":"x","n":[1.5,-2,true,null]}}}}"#,
            r#"["jsonrpc"]"#,
            r#"{"jsonrpc":"2.0""#,
            "",
        ];
        for body in bodies {
            assert_eq!(
                parse(body.as_bytes()),
                parse_value(body.as_bytes()),
                "{body}"
            );
        }
        assert!(parse(bodies[0].as_bytes()).is_ok());
        assert!(parse(bodies[8].as_bytes()).is_ok(), "escaped names");
        assert!(parse(bodies[10].as_bytes()).is_err());
    }

    /// The operation input read from the body's text agrees with the input read as a JSON
    /// value, on the usual shape and on every shape the direct reading leaves to it.
    #[test]
    fn the_direct_input_reading_agrees_with_the_general_one() {
        let inputs = [
            r#"{"STRUCTURE":{"operation-input":{"library_item_id":"item-1"}}}"#,
            r#"{"STRUCTURE":{"operation-input":{"client_token":{"OPTIONAL":"t"},"create_spec":{"STRUCTURE":{"m":{"library_item_id":{"OPTIONAL":"i"}}}}}}}"#,
            r#"{"STRUCTURE":{"operation-input":{"a":"1","a":{"SECRET":"2"}}}}"#,
            r#"{"STRUCTURE":{"operation-input":{}}}"#,
            r#"{"STRUCTURE":{"operation-input":{"list":[{"OPTIONAL":1},null,{"x":{"OPTIONAL":null}}]}}}"#,
            r#"{"STRUCTURE":{"operation-input":{"f\u0069eld":"v"}}}"#,
            r#"{"STRUC\u0054URE":{"operation-input":{"a":"b"}}}"#,
            r#"{"STRUCTURE":{"opera\u0074ion-input":{"a":"b"}}}"#,
            r#"{"STRUCTURE":{"operation-input":{"a":"b"}},"other":1}"#,
            r#"{"other":1,"STRUCTURE":{"operation-input":{"a":"b"}}}"#,
            r#"{"STRUCTURE":{"operation-input":{"a":"b"}},"STRUCTURE":{"o":{"c":"d"}}}"#,
            r#"{"STRUCTURE":{"one":{"a":"b"},"two":{"c":"d"}}}"#,
            r#"{"STRUCTURE":{"one":{"a":"b"},"one":{"c":"d"}}}"#,
            r#"{"STRUCTURE":{}}"#,
            r#"{"STRUCTURE":{"operation-input":"text"}}"#,
            r#"{"STRUCTURE":[]}"#,
            r#"{"OPTIONAL":{"a":"b"}}"#,
            r#"{}"#,
            r#"[]"#,
            r#""text""#,
            "7",
            "null",
            r#"{"STRUCTURE":{"operation-input":{"n":1e400}}}"#,
            r#"{"STRUCTURE":{"operation-input":{"n":1.50,"m":-0,"big":12345678901234567890123}}}"#,
        ];
        for input in inputs {
            let body = format!(
                r#"{{"jsonrpc":"2.0","method":"invoke","id":"1","params":{{"serviceId":"s","operationId":"o","input":{input}}}}}"#
            );
            assert_eq!(
                parse(body.as_bytes()),
                parse_value(body.as_bytes()),
                "{input}"
            );
        }
        let body = |input: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","method":"invoke","id":"1","params":{{"serviceId":"s","operationId":"o","input":{input}}}}}"#
            )
        };
        let input = |input: &str| parse(body(input).as_bytes()).map(|invoke| invoke.input);
        assert_eq!(
            input(inputs[1]),
            Ok(Ok(
                json!({"client_token": "t", "create_spec": {"library_item_id": "i"}})
                    .as_object()
                    .unwrap()
                    .clone()
            ))
        );
        assert_eq!(
            input(inputs[22]).unwrap_err().code,
            PARSE_ERROR,
            "a number no JSON value holds"
        );
        assert_eq!(
            input(inputs[14]).unwrap().unwrap_err(),
            "the input must be {\"STRUCTURE\":{\"operation-input\":{…}}}: expected a STRUCTURE with one named object, not an object"
        );
    }

    /// Found by a hostile review: serde's derive reads a struct from an array of its
    /// fields too, and a raw id was taken without checking its escapes, so the direct
    /// reading took what the general reading refuses (or reads otherwise).
    #[test]
    fn the_direct_reading_takes_only_objects_and_ids_a_json_value_holds() {
        type Read = Result<Security, (RpcId, i64)>;
        let cases: [(&str, Read); 5] = [
            (
                r#"["2.0","invoke","1",{"serviceId":"s","operationId":"o"}]"#,
                Err((RpcId::NULL, INVALID_REQUEST)),
            ),
            (
                r#"{"jsonrpc":"2.0","method":"invoke","id":"1","params":["s","o"]}"#,
                Err((id("\"1\""), INVALID_REQUEST)),
            ),
            (
                r#"{"jsonrpc":"2.0","method":"invoke","id":"1","params":{"serviceId":"s","operationId":"o","ctx":[{"sessionId":"t"}]}}"#,
                Ok(Security::None),
            ),
            (
                r#"{"jsonrpc":"2.0","method":"invoke","id":"\ud800","params":{"serviceId":"s","operationId":"o"}}"#,
                Err((RpcId::NULL, PARSE_ERROR)),
            ),
            (
                r#"{"jsonrpc":"2.0","method":"invoke","id":"\udc00","params":{"serviceId":"s","operationId":"o"}}"#,
                Err((RpcId::NULL, PARSE_ERROR)),
            ),
        ];
        for (body, expected) in cases {
            let read = parse(body.as_bytes());
            assert_eq!(read, parse_value(body.as_bytes()), "{body}");
            let read = read
                .map(|invoke| invoke.security)
                .map_err(|fault| (fault.id, fault.code));
            assert_eq!(read, expected, "{body}");
        }
        // The usual invoke is still read directly, its names borrowed from the body.
        let usual = br#"{"jsonrpc":"2.0","method":"invoke","id":"\u0031","params":{"serviceId":"s","operationId":"o","ctx":{"securityCtx":{"sessionId":"t"}}}}"#;
        let invoke = parse(usual).unwrap();
        assert!(matches!(invoke.service, Cow::Borrowed("s")));
        assert_eq!(invoke.id.as_json(), r#""\u0031""#);
        assert_eq!(invoke.security, Security::Session("t".to_owned()));
    }

    #[test]
    fn an_invoke_is_read_with_its_security_context() {
        let login = invoke(
            json!({"securityCtx":{"schemeId":"com.vmware.vapi.std.security.user_pass","userName":"u","password":"p"}}),
        );
        let login = parse(&login).unwrap();
        assert_eq!(login.id, id("\"7\""));
        assert_eq!((&*login.service, &*login.operation), ("s", "o"));
        assert_eq!(
            login.security,
            Security::UserPass {
                user: "u".to_owned(),
                password: "p".to_owned()
            }
        );
        let call = invoke(json!({"securityCtx":{"schemeId":"x","sessionId":"tok"}}));
        let call = parse(&call).unwrap();
        assert_eq!(call.security, Security::Session("tok".to_owned()));
        let anonymous = invoke(json!({"appCtx":{"opId":"1"}}));
        let anonymous = parse(&anonymous).unwrap();
        assert_eq!(anonymous.security, Security::None);
    }

    #[test]
    fn malformed_requests_get_their_codes() {
        let cases: [(&[u8], RpcId, i64, &str); 8] = [
            (b"{not json", RpcId::NULL, PARSE_ERROR, "the body is not JSON: key must be a string at line 1 column 2"),
            (b"[1]", RpcId::NULL, INVALID_REQUEST, "not a JSON-RPC 2.0 invoke request: the request must be a JSON object"),
            (br#"{"jsonrpc":"2.0","id":{},"method":"invoke"}"#, RpcId::NULL, INVALID_REQUEST, "not a JSON-RPC 2.0 invoke request: the id must be a string, a number or null"),
            (br#"{"jsonrpc":"1.0","id":3,"method":"invoke"}"#, id("3"), INVALID_REQUEST, "not a JSON-RPC 2.0 invoke request: \"jsonrpc\" must be \"2.0\""),
            (br#"{"jsonrpc":"2.0","id":"1","method":7}"#, id("\"1\""), INVALID_REQUEST, "not a JSON-RPC 2.0 invoke request: \"method\" must be a string"),
            (br#"{"jsonrpc":"2.0","id":"1","method":"call"}"#, id("\"1\""), METHOD_NOT_FOUND, "unknown method \"call\": vAPI calls use \"invoke\""),
            (br#"{"jsonrpc":"2.0","id":"1","method":"invoke"}"#, id("\"1\""), INVALID_REQUEST, "not a JSON-RPC 2.0 invoke request: params must name the serviceId and operationId as strings"),
            (br#"{"jsonrpc":"2.0","id":"1","method":"invoke","params":{"serviceId":"s","operationId":5}}"#, id("\"1\""), INVALID_REQUEST, "not a JSON-RPC 2.0 invoke request: params must name the serviceId and operationId as strings"),
        ];
        for (body, id, code, message) in cases {
            assert_eq!(
                parse(body).unwrap_err(),
                Fault::new(id, code, message),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    /// Found by a hostile review: an id was read as a JSON value and written back, so
    /// `1E2` came back `100.0` (a big integer rounded, an escaped string unescaped). Each
    /// is echoed as written, by an answer, by a fault, and in an upstream's answer.
    #[test]
    fn ids_are_echoed_exactly_as_written() {
        let ids = [
            "1E2",
            "-0",
            "1.50",
            "12345678901234567890123",
            r#""a\u0041""#,
            "null",
            r#""0""#,
            "7",
        ];
        for written in ids {
            let body = format!(
                r#"{{"jsonrpc":"2.0","method":"invoke","id" : {written} ,"params":{{"serviceId":"s","operationId":"o"}}}}"#
            );
            let invoke = parse(body.as_bytes()).unwrap();
            assert_eq!(invoke, parse_value(body.as_bytes()).unwrap(), "{written}");
            assert_eq!(invoke.id.as_json(), written);
            assert_eq!(
                enveloped(&invoke.id, b"{}"),
                format!(r#"{{"jsonrpc":"2.0","id":{written},"result":{{}}}}"#)
            );
            let call = format!(r#"{{"jsonrpc":"2.0","method":"call","id":{written}}}"#);
            let fault = parse(call.as_bytes()).unwrap_err();
            assert_eq!(
                fault.body(),
                format!(
                    r#"{{"error":{{"code":-32601,"message":"unknown method \"call\": vAPI calls use \"invoke\""}},"id":{written},"jsonrpc":"2.0"}}"#
                )
            );
            let upstream = br#"{"jsonrpc":"2.0", "id" : 100.0,"result":{"output":1.0}}"#;
            let expected =
                format!(r#"{{"jsonrpc":"2.0", "id" : {written},"result":{{"output":1.0}}}}"#);
            assert_eq!(with_id(upstream, &invoke.id).unwrap(), expected);
        }
    }

    #[test]
    fn only_an_upstream_response_with_one_id_gets_the_callers() {
        let caller = id("1E2");
        for answer in [
            &br#"{"jsonrpc":"2.0","id":1E2,"result":{}}"#[..],
            br#"{"id":3,"result":{}}"#,
            br#"{"jsonrpc":"2.0","id":3,"id":4,"result":{}}"#,
            br#"[{"jsonrpc":"2.0","id":3}]"#,
            b"<html>",
        ] {
            assert_eq!(with_id(answer, &caller), None, "{answer:?}");
        }
        // Out of range as a number: not an id a JSON value can hold.
        let huge = br#"{"jsonrpc":"2.0","method":"invoke","id":1e400,"params":{"serviceId":"s","operationId":"o"}}"#;
        assert_eq!(parse(huge), parse_value(huge));
        assert_eq!(parse(huge).unwrap_err().code, PARSE_ERROR);
    }

    #[test]
    fn ids_are_echoed_with_their_type() {
        assert_eq!(
            enveloped(&id("\"0\""), b"{\"output\":null}"),
            r#"{"jsonrpc":"2.0","id":"0","result":{"output":null}}"#
        );
        assert_eq!(
            enveloped(&id("0"), b"{}"),
            r#"{"jsonrpc":"2.0","id":0,"result":{}}"#
        );
        assert_eq!(
            Fault::new(RpcId::NULL, PARSE_ERROR, "m").body(),
            r#"{"error":{"code":-32700,"message":"m"},"id":null,"jsonrpc":"2.0"}"#
        );
    }
}
