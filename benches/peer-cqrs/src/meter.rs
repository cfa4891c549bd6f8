//! What the peer sends to DynamoDB, seen from the SDK client: dynamo-es
//! builds its own requests, so interceptors are the one place to count them
//! and to ask for the capacity they consume.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;

/// HTTP requests sent and the bytes of their bodies (each attempt counts).
#[derive(Debug, Default)]
pub struct Traffic {
    requests: AtomicU64,
    bytes: AtomicU64,
}

impl Traffic {
    /// Requests and body bytes so far.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

#[derive(Debug, Clone)]
pub struct CountTraffic(pub Arc<Traffic>);

impl Intercept for CountTraffic {
    fn name(&self) -> &'static str {
        "CountTraffic"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.request().body().bytes().map_or(0, <[u8]>::len);
        self.0.requests.fetch_add(1, Ordering::Relaxed);
        self.0.bytes.fetch_add(body as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Read and write capacity units DynamoDB reported.
#[derive(Debug, Default)]
pub struct Capacity {
    units: Mutex<(f64, f64)>,
}

impl Capacity {
    /// Read and write capacity units so far.
    pub fn totals(&self) -> (f64, f64) {
        *self.units.lock().expect("capacity lock")
    }
}

/// Adds `ReturnConsumedCapacity: TOTAL` to the peer's queries and
/// transactions, which dynamo-es does not ask for, and adds up the answers.
/// It makes each request a little longer: run it apart from [`CountTraffic`].
#[derive(Debug, Clone)]
pub struct AskCapacity(pub Arc<Capacity>);

impl Intercept for AskCapacity {
    fn name(&self) -> &'static str {
        "AskCapacity"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        if let Some(query) = input.downcast_mut::<QueryInput>() {
            query.return_consumed_capacity = Some(ReturnConsumedCapacity::Total);
        } else if let Some(write) = input.downcast_mut::<TransactWriteItemsInput>() {
            write.return_consumed_capacity = Some(ReturnConsumedCapacity::Total);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Ok(output)) = context.output_or_error() else {
            return Ok(());
        };
        let mut units = self.0.units.lock().expect("capacity lock");
        if let Some(query) = output.downcast_ref::<QueryOutput>() {
            units.0 += query
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or_default();
        } else if let Some(write) = output.downcast_ref::<TransactWriteItemsOutput>() {
            units.1 += write
                .consumed_capacity()
                .iter()
                .filter_map(|c| c.capacity_units())
                .sum::<f64>();
        }
        Ok(())
    }
}

/// CPU seconds the emulator (DYNAMODB_LOCAL_PID) and this process have used
/// so far: on one machine, what a request costs the server beside what it
/// costs the client. `None` where /proc or the pid is not there.
pub fn cpu_seconds() -> Option<(f64, f64)> {
    let pid = std::env::var("DYNAMODB_LOCAL_PID").ok()?;
    Some((used(&pid)?, used("self")?))
}

/// utime + stime of a process, from /proc/<pid>/stat (in USER_HZ, 100 on Linux).
fn used(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}
