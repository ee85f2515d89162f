//! A /Bulk body of any JSON: parsed into operations and ordered by their bulkId
//! references (cycles refused), or a SCIM error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::bulk::{BulkLimits, execution_order, parse_bulk};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let limits = BulkLimits {
        max_operations: 1000,
    };
    if let Ok(request) = parse_bulk(&body, &limits) {
        let _ = execution_order(&request);
    }
});
