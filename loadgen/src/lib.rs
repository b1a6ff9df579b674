//! loadgen: closed and open workload models, checks, exact percentiles, reports, and the cities
//! scenario that catches cross-user leaks. (Skeleton: the engine lands with its own issue.)
