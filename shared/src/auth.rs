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
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Staff,
    Manager,
    Owner,
}

impl Role {
    pub fn actor(self) -> Actor {
        match self {
            Role::Customer => Actor::Customer,
            Role::Staff => Actor::Staff,
            Role::Manager => Actor::Manager,
            Role::Owner => Actor::Owner,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    pub tenant: String,
    pub role: Role,
    pub subject: String,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        self.role.actor()
    }

    pub fn origin(&self) -> Origin {
        let source = match self.role {
            Role::Customer => "customer",
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
            Role::Customer => Err(Forbidden("this endpoint is for store staff".into())),
            _ => Ok(()),
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
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(alias = "custom:tenant_id")]
    pub tenant_id: String,
    #[serde(alias = "custom:role")]
    pub role: String,
    #[serde(default)]
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
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
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_string(),
            tenant_id: tenant.to_string(),
            role: serde_json::to_value(role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            exp: now + ttl.num_seconds(),
            iat: now,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail")
    }
}
