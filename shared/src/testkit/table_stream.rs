//! A table's stream on DynamoDB Local, read back (GetShardIterator /
//! GetRecords) as the event the stream trigger would hand a function.

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use serde_json::{json, Value};

fn attribute_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        other => panic!("unexpected attribute {other:?}"),
    }
}

fn image_json(image: &std::collections::HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        image
            .iter()
            .map(|(k, v)| (k.clone(), attribute_json(v)))
            .collect(),
    )
}

/// Reads the table's whole stream on DynamoDB Local and shapes it as the
/// event a Lambda stream trigger delivers (`{"Records": [...]}`).
pub async fn batch(table: &str) -> Value {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .expect("DYNAMODB_ENDPOINT is not set: run the tests with scripts/test.sh");
    let config = crate::aws::emulator_config(&endpoint).await;
    let tables = aws_sdk_dynamodb::Client::new(&config);
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let described = tables
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let arn = described
        .table()
        .and_then(|t| t.latest_stream_arn())
        .expect("stream enabled")
        .to_string();
    let stream = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap();
    let mut records = Vec::new();
    for shard in stream.stream_description().unwrap().shards() {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator()
            .map(str::to_string);
        while let Some(it) = iterator {
            let out = streams
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .unwrap();
            if out.records().is_empty() {
                break;
            }
            for r in out.records() {
                let change = r.dynamodb().unwrap();
                records.push(json!({
                    "eventID": r.event_id(),
                    "eventName": r.event_name().unwrap().as_str(),
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1",
                    "eventSourceARN": arn,
                    "dynamodb": {
                        "ApproximateCreationDateTime": 1_700_000_000,
                        "Keys": image_json(change.keys().unwrap()),
                        "NewImage": image_json(change.new_image().unwrap()),
                        "SequenceNumber": change.sequence_number(),
                        "SizeBytes": change.size_bytes(),
                        "StreamViewType": "NEW_IMAGE",
                    },
                }));
            }
            iterator = out.next_shard_iterator().map(str::to_string);
        }
    }
    json!({ "Records": records })
}
