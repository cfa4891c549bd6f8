//! Who is calling. On AWS the HTTP API's JWT authorizer has already verified
//! the token and hands us its claims; locally the stack verifies real HS256
//! tokens signed with a dev secret. Either way handlers see the same
//! [`Principal`], and every read and write is scoped to its tenant.

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::lifecycle::Actor;
use crate::order::decide::Origin;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Staff,
    Manager,
    Owner,
    /// A driver of the tenant's own fleet: reports positions and progress
    /// on the deliveries assigned to them, and nothing else.
    Driver,
}

impl Role {
    pub fn actor(self) -> Actor {
        match self {
            Role::Customer => Actor::Customer,
            Role::Driver => Actor::Delivery,
            Role::Staff => Actor::Staff,
            Role::Manager => Actor::Manager,
            Role::Owner => Actor::Owner,
        }
    }
}

/// The source of what the tenant's own drivers report: their fleet is a
/// delivery partner like any other.
pub const FLEET_SOURCE: &str = "delivery:fleet";

#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    pub tenant: String,
    pub role: Role,
    pub subject: String,
    /// The stores within the tenant this caller may see (the token's
    /// `stores` claim); `None` for all of them. Another store's order is
    /// as unknown to it as another tenant's.
    pub stores: Option<Vec<String>>,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        self.role.actor()
    }

    pub fn origin(&self) -> Origin {
        let source = match self.role {
            Role::Customer => "customer",
            Role::Driver => FLEET_SOURCE,
            _ => "staff",
        };
        Origin {
            source: source.to_string(),
            actor_kind: self.actor(),
            actor: Some(format!("{} ({})", self.subject, self.actor().as_str())),
            external_id: None,
        }
    }

    pub fn require_staff(&self) -> Result<(), Forbidden> {
        match self.role {
            Role::Customer | Role::Driver => {
                Err(Forbidden("this endpoint is for store staff".into()))
            }
            _ => Ok(()),
        }
    }

    pub fn require_driver(&self) -> Result<(), Forbidden> {
        match self.role {
            Role::Driver => Ok(()),
            _ => Err(Forbidden("this endpoint is for the store's drivers".into())),
        }
    }

    /// Whether this caller may see `store`'s orders.
    pub fn sees_store(&self, store: &str) -> bool {
        self.stores
            .as_ref()
            .is_none_or(|stores| stores.iter().any(|s| s == store))
    }

    /// Refuses a store this caller is not limited to.
    pub fn require_store(&self, store: &str) -> Result<(), Forbidden> {
        match self.sees_store(store) {
            true => Ok(()),
            false => Err(Forbidden(format!(
                "this token is limited to the stores {}",
                self.stores.as_deref().unwrap_or_default().join(", ")
            ))),
        }
    }

    /// Refuses a caller limited to some stores: what the whole tenant
    /// shares (its event feed, its webhook endpoints) is not theirs alone.
    pub fn require_all_stores(&self) -> Result<(), Forbidden> {
        match self.stores {
            None => Ok(()),
            Some(_) => Err(Forbidden(
                "this is for tokens that see every store of the tenant".into(),
            )),
        }
    }

    /// The one store this caller is limited to, if it is limited to one.
    pub fn only_store(&self) -> Option<&str> {
        match self.stores.as_deref() {
            Some([only]) => Some(only),
            _ => None,
        }
    }

    /// This caller, seeing only `store` (a board filtered to one store).
    pub fn narrowed_to(&self, store: &str) -> Result<Principal, Forbidden> {
        self.require_store(store)?;
        Ok(Principal {
            stores: Some(vec![store.to_string()]),
            ..self.clone()
        })
    }

    /// This caller as a board or a live channel follows orders: seeing
    /// `store` alone when named; as it is otherwise, unless it is limited
    /// to several stores, which would be several channels: it must name one.
    pub fn viewing(&self, store: Option<&str>) -> Result<Principal, Forbidden> {
        match (store.filter(|s| !s.is_empty()), self.stores.as_deref()) {
            (Some(store), _) => self.narrowed_to(store),
            (None, Some(several)) if several.len() > 1 => Err(Forbidden(format!(
                "this token is limited to several stores: follow one of them (store={})",
                several.join(", store=")
            ))),
            (None, _) => Ok(self.clone()),
        }
    }

    /// Reconciliation is for managers and owners.
    pub fn require_manager(&self) -> Result<(), Forbidden> {
        match self.role {
            Role::Manager | Role::Owner => Ok(()),
            _ => Err(Forbidden("this action is for managers and owners".into())),
        }
    }

    /// Reads the claims an API Gateway JWT authorizer (or our own verifier)
    /// produced. Both `tenant_id` and `custom:tenant_id` (Cognito) are accepted.
    pub fn from_claims(claims: &Claims) -> Result<Self, AuthError> {
        let tenant = claims.tenant_id.trim();
        if tenant.is_empty() {
            return Err(AuthError::Claims("tenant_id is missing".into()));
        }
        let role = serde_json::from_value(serde_json::Value::String(claims.role.clone()))
            .map_err(|_| AuthError::Claims(format!("unknown role {:?}", claims.role)))?;
        Ok(Principal {
            tenant: tenant.to_string(),
            role,
            subject: claims.sub.clone(),
            stores: claims.stores.clone(),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Claims {
    pub sub: String,
    #[serde(alias = "custom:tenant_id")]
    pub tenant_id: String,
    #[serde(alias = "custom:role")]
    pub role: String,
    /// The stores the token is limited to: a JSON array, or a string of
    /// ids separated by spaces or commas, which is how API Gateway's JWT
    /// authorizer hands on an array claim (`[a b]`). Absent: every store.
    #[serde(
        default,
        alias = "custom:stores",
        deserialize_with = "store_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub stores: Option<Vec<String>>,
    #[serde(default)]
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
}

fn store_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(untagged)]
    enum Stores {
        List(Vec<String>),
        Text(String),
    }
    let ids = match Option::<Stores>::deserialize(deserializer)? {
        None => return Ok(None),
        Some(Stores::List(ids)) => ids,
        Some(Stores::Text(text)) => {
            return store_claim(&text)
                .map(Some)
                .map_err(serde::de::Error::custom)
        }
    };
    store_ids(ids).map(Some).map_err(serde::de::Error::custom)
}

/// The `stores` claim as a string: ids separated by spaces or commas,
/// optionally in brackets (API Gateway's rendering of an array claim).
pub fn store_claim(text: &str) -> Result<Vec<String>, String> {
    store_ids(
        text.trim_matches(|c| c == '[' || c == ']')
            .split(|c: char| c == ',' || c.is_whitespace())
            .map(|id| id.trim_matches('"').to_string())
            .collect(),
    )
}

fn store_ids(ids: Vec<String>) -> Result<Vec<String>, String> {
    // An empty list limits to nothing: refuse it rather than read it as all.
    let ids: Vec<String> = ids.into_iter().filter(|id| !id.is_empty()).collect();
    match ids.is_empty() {
        true => Err("stores names no store".into()),
        false => Ok(ids),
    }
}

/// A known caller asking for what its role does not allow (a 403, where an
/// [`AuthError`] is a 401).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Forbidden(pub String);

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("invalid claims: {0}")]
    Claims(String),
}

/// Verifies (and, for the local stack's `token` command, mints) HS256 tokens.
#[derive(Clone)]
pub struct JwtKeys {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn hs256(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        JwtKeys {
            decoding: DecodingKey::from_secret(secret),
            encoding: EncodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        Principal::from_claims(&data.claims)
    }

    pub fn mint(&self, tenant: &str, role: Role, subject: &str, ttl: chrono::Duration) -> String {
        self.mint_for_stores(tenant, role, subject, None, ttl)
    }

    /// A token limited to `stores` (all of the tenant's when `None`).
    pub fn mint_for_stores(
        &self,
        tenant: &str,
        role: Role,
        subject: &str,
        stores: Option<Vec<String>>,
        ttl: chrono::Duration,
    ) -> String {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_string(),
            tenant_id: tenant.to_string(),
            role: serde_json::to_value(role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            stores,
            exp: now + ttl.num_seconds(),
            iat: now,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(stores: serde_json::Value) -> Result<Claims, serde_json::Error> {
        serde_json::from_value(serde_json::json!({
            "sub": "u1", "tenant_id": "acme", "role": "staff", "stores": stores
        }))
    }

    /// A JSON array, or API Gateway's rendering of it as text.
    #[test]
    fn the_stores_claim_reads_as_an_array_or_as_text() {
        let soho_tribeca = Some(vec!["soho".to_string(), "tribeca".to_string()]);
        for form in [
            serde_json::json!(["soho", "tribeca"]),
            serde_json::json!("[soho tribeca]"),
            serde_json::json!("soho,tribeca"),
        ] {
            assert_eq!(claims(form.clone()).unwrap().stores, soho_tribeca, "{form}");
        }
        assert_eq!(claims(serde_json::Value::Null).unwrap().stores, None);
        assert!(
            claims(serde_json::json!([])).is_err(),
            "no store is not every store"
        );
        assert!(claims(serde_json::json!("[]")).is_err());
    }

    #[test]
    fn a_principal_limited_to_stores_sees_and_follows_only_them() {
        let keys = JwtKeys::hs256(b"test");
        let stores = Some(vec!["soho".to_string(), "tribeca".to_string()]);
        let token = keys.mint_for_stores(
            "acme",
            Role::Staff,
            "u1",
            stores,
            chrono::Duration::minutes(5),
        );
        let principal = keys.verify(&token).unwrap();
        assert!(principal.sees_store("soho") && !principal.sees_store("main"));
        assert!(principal.require_all_stores().is_err());
        assert!(
            principal.viewing(None).is_err(),
            "several stores are several channels"
        );
        let soho = principal.viewing(Some("soho")).unwrap();
        assert_eq!(soho.only_store(), Some("soho"));
        assert!(
            soho.viewing(Some("tribeca")).is_err(),
            "a narrowed view cannot widen"
        );
        assert!(principal.viewing(Some("main")).is_err());

        let everyone = keys
            .verify(&keys.mint("acme", Role::Staff, "u2", chrono::Duration::minutes(5)))
            .unwrap();
        assert_eq!(everyone.viewing(None).unwrap().only_store(), None);
        assert_eq!(
            everyone.viewing(Some("main")).unwrap().only_store(),
            Some("main")
        );
    }
}
