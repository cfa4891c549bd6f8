//! Customers' messages on AWS: email through Amazon SES (v2), SMS through
//! Amazon SNS. SNS keeps its own list of numbers that replied STOP and
//! refuses to text them; that refusal is recorded like any other.

use async_trait::async_trait;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as Email};
use aws_sdk_sns::types::MessageAttributeValue;
use order_core::notify::Message;
use order_core::order::Channel;
use order_core::ports::Outbound;

pub struct Aws {
    pub ses: aws_sdk_sesv2::Client,
    pub sns: aws_sdk_sns::Client,
    /// The verified address emails come from; the store's name goes before it.
    pub from_address: String,
}

/// `"Acme Coffee" <orders@example.com>`, the name quoted as RFC 5322 asks.
fn mailbox(name: &str, address: &str) -> String {
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '"' | '\\' => format!("\\{c}"),
            c => c.to_string(),
        })
        .collect();
    format!("\"{name}\" <{address}>")
}

fn text(data: &str) -> Result<Content, String> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| e.to_string())
}

#[async_trait]
impl Outbound for Aws {
    async fn send(&self, _tenant: &str, message: &Message) -> Result<String, String> {
        match message.channel {
            Channel::Email => {
                let email = Email::builder()
                    .subject(text(message.subject.as_deref().unwrap_or_default())?)
                    .body(Body::builder().text(text(&message.text)?).build())
                    .build();
                let sent = self
                    .ses
                    .send_email()
                    .from_email_address(mailbox(&message.from, &self.from_address))
                    .destination(Destination::builder().to_addresses(&message.to).build())
                    .content(EmailContent::builder().simple(email).build())
                    .send()
                    .await
                    .map_err(|e| aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string())?;
                Ok(sent.message_id().unwrap_or_default().to_string())
            }
            Channel::Sms => {
                let transactional = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("Transactional")
                    .build()
                    .map_err(|e| e.to_string())?;
                let sent = self
                    .sns
                    .publish()
                    .phone_number(&message.to)
                    .message(&message.text)
                    .message_attributes("AWS.SNS.SMS.SMSType", transactional)
                    .send()
                    .await
                    .map_err(|e| aws_sdk_sns::error::DisplayErrorContext(&e).to_string())?;
                Ok(sent.message_id().unwrap_or_default().to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stores_name_is_quoted_before_the_address() {
        assert_eq!(
            mailbox("Acme Coffee", "o@example.com"),
            "\"Acme Coffee\" <o@example.com>"
        );
        assert_eq!(
            mailbox("Bob \"the\" Shop\r\n", "o@example.com"),
            "\"Bob \\\"the\\\" Shop\" <o@example.com>"
        );
    }
}
